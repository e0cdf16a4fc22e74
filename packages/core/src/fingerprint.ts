/**
 * @module
 * `fingerprint`: which conversation a Messages API request belongs to, so follow-up requests can stick
 * to the account that already holds the conversation's prompt cache. A port of the Rust shunt's
 * fingerprint (seed-spec §7.2), digest for digest.
 *
 * Request bodies from Claude Code are 100 KB to several MB, almost all of it conversation the fingerprint
 * never reads; the body is validated in full (any invalid JSON gives null, as in Rust) by a scanner that
 * materializes only the system prompt, the first user message's text and the tool names.
 */
import { ByteJsonScanner, type JsonCursor } from './json-scan.js';
import { StringJsonScanner } from './json-scan-string.js';
import { sha256Hex } from './sha256.js';
import { plainBytes, validUtf8 } from './utf8.js';

/**
 * Conversation fingerprint of a Messages API request body: lowercase hex SHA-256 of
 * `system text + "\0" + first user message text + "\0" + tool names (sorted, comma-joined)`.
 *
 * Null when the body is not valid UTF-8 JSON as serde_json reads it (so also for containers nested 128
 * deep and numbers out of the double range, such as `1e400`, which `JSON.parse` accepts), is not an
 * object, has no `messages` array, or has neither system text nor first-user text. Never throws. Formatting, `model`, later messages and tool schemas do not matter.
 * @example
 * fingerprint('{"system":"Be brief.","messages":[{"role":"user","content":"Hi"}]}'); // 64 hex digits
 * fingerprint('{"messages":[]}'); // null: nothing identifies the conversation
 */
export function fingerprint(body: string | Uint8Array, options?: FingerprintOptions): string | null {
  const validate = options?.validate !== false;
  return typeof body === 'string' ? fingerprintString(body, validate) : fingerprintBytes(body, validate);
}

/** Options for {@link fingerprint}. */
export interface FingerprintOptions {
  /**
   * Whether the whole body is checked to be UTF-8 JSON. `false` checks only the structure and the
   * parts the fingerprint reads, and passes over the rest of each string (conversation text, most of
   * the body) with a byte search: several times faster on large bodies, for a body that will be
   * checked anyway (a proxy forwarding it to the API, which answers invalid JSON with a 400). Valid
   * JSON gets the same fingerprint either way; a body that is not JSON may then get a fingerprint
   * instead of null. Never throws either way.
   * @default true
   */
  readonly validate?: boolean | undefined;
}

/**
 * The strings the fingerprint reads, as flat `[start, end, escaped (0|1)]` triples of string content
 * ranges in the input: decoding waits until the whole body is known to be valid.
 */
interface RequestParts {
  readonly system: number[];
  readonly firstUser: number[];
  /** Null when top-level `tools` is absent or not an array (hashed as the literal `null`). */
  readonly toolNames: number[] | null;
}

const NULL_LITERAL = /* @__PURE__ */ Uint8Array.of(0x6e, 0x75, 0x6c, 0x6c);
// Structure characters as the scanners report them (see json-scan.ts for why these are not imported).
const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;

/** {@link fingerprint} of a JS string: the hashed message is assembled as a string and encoded once. */
function fingerprintString(body: string, validate: boolean): string | null {
  const sc = new StringJsonScanner(body, !validate);
  const parts = scanRequest(sc);
  if (parts === null) return null;
  const system = joinValues(sc, parts.system);
  const user = joinValues(sc, parts.firstUser);
  if (system === '' && user === '') return null;
  let tools = 'null';
  if (parts.toolNames !== null) {
    const names: string[] = [];
    const p = parts.toolNames;
    for (let k = 0; k < p.length; k += 3) names.push(sc.value(p[k] as number, p[k + 1] as number, p[k + 2] === 1));
    tools = names.sort(compareCodePoints).join(',');
  }
  return sha256Hex(`${system}\0${user}\0${tools}`);
}

/** {@link fingerprint} of UTF-8 bytes: the hashed message is assembled from views of the input. */
function fingerprintBytes(body: Uint8Array, validate: boolean): string | null {
  const bytes = validate ? validUtf8(body) : plainBytes(body);
  if (bytes === null) return null;
  const sc = new ByteJsonScanner(bytes, !validate);
  const parts = scanRequest(sc);
  if (parts === null) return null;
  const system = joinBytes(sc, parts.system);
  const user = joinBytes(sc, parts.firstUser);
  if (system.length === 0 && user.length === 0) return null;

  let tools: Uint8Array[];
  if (parts.toolNames === null) {
    tools = [NULL_LITERAL];
  } else {
    // Rust sorts Strings by their UTF-8 bytes, which orders astral characters after U+E000..U+FFFF,
    // unlike JS's UTF-16 comparison.
    tools = pieceBytes(sc, parts.toolNames).sort(compareBytes);
  }
  let length = system.length + 1 + user.length + 1 + Math.max(0, tools.length - 1);
  for (const name of tools) length += name.length;
  const message = new Uint8Array(length);
  message.set(system, 0);
  // message[system.length] and the byte after the user text stay 0: the "\0" separators.
  message.set(user, system.length + 1);
  let o = system.length + 1 + user.length + 1;
  for (let k = 0; k < tools.length; k++) {
    if (k > 0) message[o++] = COMMA;
    const name = tools[k] as Uint8Array;
    message.set(name, o);
    o += name.length;
  }
  return sha256Hex(message);
}

/**
 * Walks the top-level object, keeping the last occurrence of each key (as JSON.parse and serde_json do),
 * and validates everything else. Null for invalid JSON, a non-object, or `messages` not an array.
 */
function scanRequest(sc: JsonCursor): RequestParts | null {
  // Anything but an object is null whether or not it is valid JSON: no need to read further.
  if (sc.peek() !== LBRACE) return null;
  sc.pos++;
  let system: number[] = [];
  let firstUser: number[] | null = null;
  let toolNames: number[] | null = null;
  let c = sc.peek();
  if (c === RBRACE) {
    sc.pos++;
  } else {
    for (;;) {
      if (c !== QUOTE || !sc.readString()) return null;
      const key = sc.stringEquals('system')
        ? 'system'
        : sc.stringEquals('messages')
          ? 'messages'
          : sc.stringEquals('tools')
            ? 'tools'
            : null;
      if (!sc.expect(COLON)) return null;
      if (key === 'system') {
        const text = readTextContent(sc, 1);
        if (text === null) return null;
        system = text;
      } else if (key === 'messages') {
        if (sc.peek() === LBRACKET) {
          firstUser = readFirstUserText(sc);
          if (firstUser === null) return null;
        } else {
          if (!sc.skipValue(1)) return null;
          firstUser = null;
        }
      } else if (key === 'tools') {
        if (sc.peek() === LBRACKET) {
          toolNames = readToolNames(sc);
          if (toolNames === null) return null;
        } else {
          if (!sc.skipValue(1)) return null;
          toolNames = null;
        }
      } else if (!sc.skipValue(1)) {
        return null;
      }
      c = sc.peek();
      if (c === COMMA) {
        sc.pos++;
        c = sc.peek();
      } else if (c === RBRACE) {
        sc.pos++;
        break;
      } else {
        return null;
      }
    }
  }
  // Only whitespace may follow the top-level value; firstUser is still null if the (last) `messages`
  // was missing or not an array.
  if (sc.peek() !== -1 || firstUser === null) return null;
  return { system, firstUser, toolNames };
}

/**
 * Text of a `system` or `content` value: a string is itself; an array contributes the `text` of each
 * object element whose `type` is "text"; anything else is "". Null on invalid JSON. `depth` is how many
 * containers are open around the value (nesting is limited as in serde_json, see json-scan.ts).
 */
function readTextContent(sc: JsonCursor, depth: number): number[] | null {
  const c = sc.peek();
  if (c === QUOTE) {
    if (!sc.readString()) return null;
    return [sc.strStart, sc.strEnd, sc.strEscaped ? 1 : 0];
  }
  if (c !== LBRACKET) return sc.skipValue(depth) ? [] : null;
  sc.pos++;
  const pieces: number[] = [];
  if (sc.peek() === RBRACKET) {
    sc.pos++;
    return pieces;
  }
  for (;;) {
    if (sc.peek() === LBRACE) {
      if (!readTextBlock(sc, pieces, depth + 2)) return null;
    } else if (!sc.skipValue(depth + 1)) {
      return null;
    }
    const next = sc.peek();
    if (next === COMMA) {
      sc.pos++;
    } else if (next === RBRACKET) {
      sc.pos++;
      return pieces;
    } else {
      return null;
    }
  }
}

/** What {@link readStringValue} found: a string (left in the cursor), another value (skipped), or invalid JSON. */
const STRING = 1;
const OTHER = 0;
const INVALID = -1;

/**
 * After an object key: reads `: value`. A string is read and left in the cursor (`strStart`,
 * `strEnd`, `stringEquals`); any other value is only validated. A later duplicate key overrides an
 * earlier one, so callers reset what they remembered when the value is not a string.
 */
function readStringValue(sc: JsonCursor, depth: number): typeof STRING | typeof OTHER | typeof INVALID {
  if (!sc.expect(COLON)) return INVALID;
  if (sc.peek() !== QUOTE) return sc.skipValue(depth) ? OTHER : INVALID;
  return sc.readString() ? STRING : INVALID;
}

/** Reads one content block object (its members at `depth`); appends its text to `pieces` when its (last) `type` is "text". */
function readTextBlock(sc: JsonCursor, pieces: number[], depth: number): boolean {
  let isText = false;
  let hasText = false;
  let start = 0;
  let end = 0;
  let escaped = 0;
  const ok = readObject(sc, () => {
    if (sc.stringEquals('type')) {
      const value = readStringValue(sc, depth);
      isText = value === STRING && sc.stringEquals('text');
      return value !== INVALID;
    }
    if (sc.stringEquals('text')) {
      const value = readStringValue(sc, depth);
      hasText = value === STRING;
      if (hasText) {
        start = sc.strStart;
        end = sc.strEnd;
        escaped = sc.strEscaped ? 1 : 0;
      }
      return value !== INVALID;
    }
    return sc.expect(COLON) && sc.skipValue(depth);
  });
  if (ok && isText && hasText) pieces.push(start, end, escaped);
  return ok;
}

/**
 * Text of the content of the first object element with role "user" of the `messages` array at the
 * cursor ("" when there is none); the rest of the array is only validated. Null on invalid JSON.
 */
function readFirstUserText(sc: JsonCursor): number[] | null {
  sc.pos++;
  let found: number[] | null = null;
  if (sc.peek() === RBRACKET) {
    sc.pos++;
    return [];
  }
  for (;;) {
    if (found === null && sc.peek() === LBRACE) {
      let isUser = false;
      let content: number[] = [];
      const ok = readObject(sc, () => {
        if (sc.stringEquals('role')) {
          const value = readStringValue(sc, 3);
          isUser = value === STRING && sc.stringEquals('user');
          return value !== INVALID;
        }
        if (sc.stringEquals('content')) {
          if (!sc.expect(COLON)) return false;
          const text = readTextContent(sc, 3);
          if (text === null) return false;
          content = text;
          return true;
        }
        return sc.expect(COLON) && sc.skipValue(3);
      });
      if (!ok) return null;
      if (isUser) found = content;
    } else if (!sc.skipValue(2)) {
      return null;
    }
    const next = sc.peek();
    if (next === COMMA) {
      sc.pos++;
    } else if (next === RBRACKET) {
      sc.pos++;
      return found ?? [];
    } else {
      return null;
    }
  }
}

/** The string `name` of each object element of the `tools` array at the cursor. Null on invalid JSON. */
function readToolNames(sc: JsonCursor): number[] | null {
  sc.pos++;
  const names: number[] = [];
  if (sc.peek() === RBRACKET) {
    sc.pos++;
    return names;
  }
  for (;;) {
    if (sc.peek() === LBRACE) {
      let hasName = false;
      let start = 0;
      let end = 0;
      let escaped = 0;
      const ok = readObject(sc, () => {
        if (!sc.stringEquals('name')) return sc.expect(COLON) && sc.skipValue(3);
        const value = readStringValue(sc, 3);
        hasName = value === STRING;
        if (hasName) {
          start = sc.strStart;
          end = sc.strEnd;
          escaped = sc.strEscaped ? 1 : 0;
        }
        return value !== INVALID;
      });
      if (!ok) return null;
      if (hasName) names.push(start, end, escaped);
    } else if (!sc.skipValue(2)) {
      return null;
    }
    const next = sc.peek();
    if (next === COMMA) {
      sc.pos++;
    } else if (next === RBRACKET) {
      sc.pos++;
      return names;
    } else {
      return null;
    }
  }
}

/**
 * Reads the object at the cursor (which is at `{`), calling `member` after each key has been read (the
 * key is the scanner's current string); `member` consumes the colon and the value.
 */
function readObject(sc: JsonCursor, member: () => boolean): boolean {
  sc.pos++;
  let c = sc.peek();
  if (c === RBRACE) {
    sc.pos++;
    return true;
  }
  for (;;) {
    if (c !== QUOTE || !sc.readString() || !member()) return false;
    c = sc.peek();
    if (c === COMMA) {
      sc.pos++;
      c = sc.peek();
    } else if (c === RBRACE) {
      sc.pos++;
      return true;
    } else {
      return false;
    }
  }
}

/** The decoded UTF-8 bytes of each `[start, end, escaped]` triple. */
function pieceBytes(sc: ByteJsonScanner, pieces: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let k = 0; k < pieces.length; k += 3) {
    out.push(sc.utf8(pieces[k] as number, pieces[k + 1] as number, pieces[k + 2] === 1));
  }
  return out;
}

/** The concatenated decoded UTF-8 bytes of the triples. */
function joinBytes(sc: ByteJsonScanner, pieces: number[]): Uint8Array {
  if (pieces.length === 3) return sc.utf8(pieces[0] as number, pieces[1] as number, pieces[2] === 1);
  const parts = pieceBytes(sc, pieces);
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let o = 0;
  for (const part of parts) {
    out.set(part, o);
    o += part.length;
  }
  return out;
}

/** The concatenated decoded values of the triples. */
function joinValues(sc: StringJsonScanner, pieces: number[]): string {
  let text = '';
  for (let k = 0; k < pieces.length; k += 3) text += sc.value(pieces[k] as number, pieces[k + 1] as number, pieces[k + 2] === 1);
  return text;
}

/**
 * Code point order of two strings, which is UTF-8 byte order: UTF-16 code unit order except that
 * surrogates (astral characters) sort after U+E000..U+FFFF.
 */
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let k = 0; k < n; k++) {
    let x = a.charCodeAt(k);
    let y = b.charCodeAt(k);
    if (x === y) continue;
    // Move surrogates above U+FFFF and U+E000..U+FFFF down into the gap they leave.
    if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
    if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    return x - y;
  }
  return a.length - b.length;
}

/** Byte-wise lexicographic order (Rust's `Ord` for `[u8]` and `str`). */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let k = 0; k < n; k++) {
    const d = (a[k] as number) - (b[k] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
