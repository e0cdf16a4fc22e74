/**
 * @module
 * Validating JSON scanners that materialize nothing they are not asked for.
 *
 * `fingerprint` needs three small parts of a request body that is often megabytes of conversation, yet
 * must reject the body when any byte of it is not JSON. Parsing it with `JSON.parse` would build every
 * message; these scanners check the whole grammar (RFC 8259, as `JSON.parse` and serde_json accept it)
 * while skipping values, and record the strings a caller reads as ranges of the input.
 *
 * {@link ByteJsonScanner} reads UTF-8 bytes; `StringJsonScanner` (json-scan-string.ts) reads a JS string
 * directly, because encoding a two-byte string to UTF-8 first would cost a third of `JSON.parse` itself.
 * Like serde_json (and unlike `JSON.parse`), both reject a `\u` escape of a lone surrogate.
 */
import { builtinModule } from './platform.js';

/** What `fingerprint` needs from a scanner, whatever the input type. Offsets are in input units. */
export interface JsonCursor {
  /** Offset of the next unread unit. */
  pos: number;
  /** Start of the content (between the quotes) of the string last read by `readString`. */
  strStart: number;
  /** End (exclusive) of that content. */
  strEnd: number;
  /** Whether that content may contain escapes (false means its units are its value). */
  strEscaped: boolean;
  /** Skips whitespace and returns the next unit (an ASCII code for structure) without consuming it, or -1 at the end. */
  peek(): number;
  /** Consumes `c` (after optional whitespace); false if the next unit is anything else. */
  expect(c: number): boolean;
  /** Reads the string at the cursor (at its opening quote) into strStart/strEnd/strEscaped; false if invalid. */
  readString(): boolean;
  /** Whether the string last read, escapes decoded, equals the ASCII `literal`. */
  stringEquals(literal: string): boolean;
  /**
   * Validates and skips one value of any kind at the cursor, inside `depth` open containers; false if
   * invalid, including nesting that reaches {@link MAX_NESTING} and a number outside the double range.
   */
  skipValue(depth: number): boolean;
}

/**
 * serde_json's recursion limit: a document whose containers nest this deep is refused (127 levels
 * parse, the 128th is an error), so the fingerprint refuses it too.
 */
export const MAX_NESTING = 128;

/**
 * The largest number of decimal digits before the point (no exponent) a finite double can have:
 * 1e308 has 309. Longer integers, and any number with an exponent, are checked for overflow, which
 * serde_json refuses ("number out of range") and JSON.parse turns into Infinity.
 */
export const MAX_FINITE_INT_DIGITS = 309;

// Structure is ASCII, so bytes and UTF-16 code units compare against the same codes. Each module keeps
// its own copies: V8 reads an imported binding through a cell (CommonJS builds: a getter) on every use.
const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACKET = 0x5b;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const BACKSLASH = 0x5c;

/**
 * The open-container stack every {@link ByteJsonScanner} shares. `skipValue` fills it from depth 0
 * and is done with it before it returns (scanning is synchronous), so one is enough; a fresh 128-byte
 * array per scanner is stored outside the JS heap (V8 keeps only typed arrays of up to 64 bytes on
 * it), and making one cost about as much as scanning a kilobyte.
 */
const NESTING_STACK = /* @__PURE__ */ new Uint8Array(MAX_NESTING);

/**
 * Cursor over one UTF-8 JSON document whose bytes are already known to be valid UTF-8, so only ASCII
 * structure is examined and every byte >= 0x80 is string content. Methods return `false` on a syntax
 * error (the cursor is then meaningless) instead of throwing: corrupt bodies are expected input.
 */
export class ByteJsonScanner implements JsonCursor {
  /** The document. */
  readonly bytes: Uint8Array;
  /** Offset of the next unread byte. */
  pos: number;
  /** Content range (between the quotes) of the string last read by {@link readString}. */
  strStart: number;
  /** End (exclusive) of the string last read by {@link readString}. */
  strEnd: number;
  /** Whether that string contains a backslash escape, i.e. its bytes are not its value. */
  strEscaped: boolean;
  // The same bytes, to read string content four bytes at a time.
  private readonly view: DataView;
  // Deeply nested input must not recurse; nesting is limited (MAX_NESTING), so the stack is too.
  // Holds the expected closing byte of each open container.
  private readonly stack: Uint8Array;
  // Set by skipStringBody: whether the string just skipped had an escape.
  private escapedSeen: boolean;
  // Whether skipped strings are only skimmed for their end (see the constructor).
  private readonly skim: boolean;

  /**
   * Scanner positioned at the start of `bytes`. With `skim`, the strings `skipValue` passes over are
   * not validated, only searched for their closing quote (the native byte search where there is
   * one): for a document known, or about to be checked elsewhere, to be JSON. Everything else, and
   * every string read, is still checked.
   */
  constructor(bytes: Uint8Array, skim = false) {
    this.skim = skim;
    this.bytes = bytes;
    this.pos = 0;
    this.strStart = 0;
    this.strEnd = 0;
    this.strEscaped = false;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.stack = NESTING_STACK;
    this.escapedSeen = false;
  }

  /** Skips whitespace and returns the next byte without consuming it, or -1 at the end. */
  peek(): number {
    const b = this.bytes;
    const n = b.length;
    let i = this.pos;
    while (i < n) {
      const c = b[i] as number;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) {
        this.pos = i;
        return c;
      }
      i++;
    }
    this.pos = n;
    return -1;
  }

  /** Reads the string at the cursor (which must be at its opening quote) into strStart/strEnd/strEscaped. */
  readString(): boolean {
    const start = this.pos + 1;
    const end = this.skipStringBody(start);
    if (end < 0) return false;
    this.strStart = start;
    this.strEnd = end - 1;
    this.strEscaped = this.escapedSeen;
    this.pos = end;
    return true;
  }

  /** Whether the string last read, escapes decoded, equals the ASCII `literal`. */
  stringEquals(literal: string): boolean {
    const start = this.strStart;
    const value = this.strEscaped ? unescapeJsonString(this.bytes, start, this.strEnd) : this.bytes;
    const from = this.strEscaped ? 0 : start;
    const len = this.strEscaped ? value.length : this.strEnd - start;
    if (len !== literal.length) return false;
    for (let k = 0; k < len; k++) if (value[from + k] !== literal.charCodeAt(k)) return false;
    return true;
  }

  /** UTF-8 bytes of the value of a string read earlier: a view of the input unless it has escapes. */
  utf8(start: number, end: number, escaped: boolean): Uint8Array {
    return escaped ? unescapeJsonString(this.bytes, start, end) : this.bytes.subarray(start, end);
  }

  /** Consumes `c` (after optional whitespace); false if the next unit is anything else. */
  expect(c: number): boolean {
    if (this.peek() !== c) return false;
    this.pos++;
    return true;
  }

  /** Validates and skips one value of any kind at the cursor, inside `outer` open containers, without recursion or allocation. */
  skipValue(outer: number): boolean {
    const b = this.bytes;
    const n = b.length;
    const stack = this.stack;
    let depth = 0;
    let i = this.pos;
    let c = 0;
    for (;;) {
      // A value starts here.
      while (i < n && ((c = b[i] as number) === 0x20 || c === 0x0a || c === 0x0d || c === 0x09)) i++;
      if (i >= n) return false;
      if (c === QUOTE) {
        i = this.skim ? skimStringBody(b, i + 1) : this.skipStringBody(i + 1);
        if (i < 0) return false;
      } else if (c === LBRACE || c === LBRACKET) {
        // serde_json refuses the MAX_NESTING-th nested container, empty or not.
        if (outer + depth + 1 >= MAX_NESTING) return false;
        // '{' + 2 is '}' and '[' + 2 is ']'.
        const close = c + 2;
        i++;
        while (i < n && ((c = b[i] as number) === 0x20 || c === 0x0a || c === 0x0d || c === 0x09)) i++;
        if (i < n && c === close) {
          i++;
        } else {
          stack[depth++] = close;
          if (close === RBRACE) {
            i = this.skipKey(i);
            if (i < 0) return false;
          }
          continue;
        }
      } else if (c === 0x74) {
        if (b[i + 1] !== 0x72 || b[i + 2] !== 0x75 || b[i + 3] !== 0x65) return false;
        i += 4;
      } else if (c === 0x66) {
        if (b[i + 1] !== 0x61 || b[i + 2] !== 0x6c || b[i + 3] !== 0x73 || b[i + 4] !== 0x65) return false;
        i += 5;
      } else if (c === 0x6e) {
        if (b[i + 1] !== 0x75 || b[i + 2] !== 0x6c || b[i + 3] !== 0x6c) return false;
        i += 4;
      } else {
        i = skipNumber(b, i);
        if (i < 0) return false;
      }
      // A value ended here: close containers until one continues with another element.
      for (;;) {
        if (depth === 0) {
          this.pos = i;
          return true;
        }
        while (i < n && ((c = b[i] as number) === 0x20 || c === 0x0a || c === 0x0d || c === 0x09)) i++;
        if (i >= n) return false;
        const close = stack[depth - 1];
        if (c === COMMA) {
          i++;
          if (close === RBRACE) {
            i = this.skipKey(i);
            if (i < 0) return false;
          }
          break;
        }
        if (c !== close) return false;
        i++;
        depth--;
      }
    }
  }

  /** Skips `ws "key" ws :` from `i` inside an object; returns the offset after the colon, or -1. */
  private skipKey(i: number): number {
    const b = this.bytes;
    const n = b.length;
    let c = 0;
    while (i < n && ((c = b[i] as number) === 0x20 || c === 0x0a || c === 0x0d || c === 0x09)) i++;
    if (i >= n || c !== QUOTE) return -1;
    i = this.skipStringBody(i + 1);
    if (i < 0) return -1;
    while (i < n && ((c = b[i] as number) === 0x20 || c === 0x0a || c === 0x0d || c === 0x09)) i++;
    if (i >= n || c !== COLON) return -1;
    return i + 1;
  }

  /**
   * Validates string content from `i` (just after the opening quote) and returns the offset just after
   * the closing quote, or -1; sets `escapedSeen`. Long tool results and base64 images are most of a
   * Claude Code body, so the hot loop tests four bytes per step (SWAR) and jumps straight to the first
   * byte that needs a look: `"`, `\\` or a control character.
   */
  private skipStringBody(i: number): number {
    const b = this.bytes;
    const view = this.view;
    const n = b.length;
    const last = n - 4;
    let escaped = false;
    for (;;) {
      let hits = 0;
      while (i <= last) {
        // Unaligned little-endian reads (DataView) so that byte k of the word is b[i + k] on any platform.
        // Measured instead (Node 20): aligned Int32Array words were no faster on one long string, two words
        // per step 10-18% faster there, and both 7-25% slower on Claude-Code-like bodies, where a quote or
        // escape comes every ~16 bytes and the extra setup per run costs more than the reads it saves.
        const x = view.getInt32(i, true);
        const q = x ^ 0x22222222;
        const s = x ^ 0x5c5c5c5c;
        // "Has a byte < 0x20" and "has a zero byte" bit tricks: the high bit of a byte is set if it is a
        // control character, '"' or '\\'. Bytes above the first such byte may be false positives (borrows),
        // never bytes below it, so the lowest set bit locates a real one.
        hits = (((x - 0x20202020) & ~x) | ((q - 0x01010101) & ~q) | ((s - 0x01010101) & ~s)) & 0x80808080;
        if (hits !== 0) {
          i += (31 - Math.clz32(hits & -hits)) >> 3;
          break;
        }
        i += 4;
      }
      if (i >= n) return -1;
      const c = b[i] as number;
      if (c === QUOTE) {
        this.escapedSeen = escaped;
        return i + 1;
      }
      if (c === BACKSLASH) {
        escaped = true;
        i = skipEscape(b, i);
        if (i < 0) return -1;
      } else if (c < 0x20) {
        return -1;
      } else {
        // Only the last < 4 bytes are looked at one by one.
        i++;
      }
    }
  }
}

/** `Buffer.prototype.indexOf` (a memchr) where `node:buffer` is reachable; it takes any Uint8Array. */
const nativeIndexOf = /* @__PURE__ */ (() =>
  builtinModule<{ Buffer: { prototype: { indexOf(this: Uint8Array, value: number, from: number): number } } }>('node:buffer')?.Buffer.prototype.indexOf)();

/** The first `byte` at or after `from` in `b`, or -1. */
function indexOfByte(b: Uint8Array, byte: number, from: number): number {
  return nativeIndexOf === undefined ? b.indexOf(byte, from) : nativeIndexOf.call(b, byte, from);
}

/** Strings shorter than this are skimmed in JS: a native search costs a call (about 20 ns in Node). */
const SHORT_STRING = 32;

/**
 * The offset just after the closing quote of the string whose content starts at `i`, for input taken
 * to be JSON (nothing is validated), or -1 when there is none. The closing quote is the first `"`
 * not escaped: not preceded by an odd run of backslashes.
 */
function skimStringBody(b: Uint8Array, i: number): number {
  const limit = Math.min(b.length, i + SHORT_STRING);
  while (i < limit) {
    const c = b[i] as number;
    if (c === QUOTE) return i + 1;
    // An escape is two bytes (a \u escape's hex digits are not quotes); `i` never stops inside one.
    i += c === BACKSLASH ? 2 : 1;
  }
  for (;;) {
    const q = indexOfByte(b, QUOTE, i);
    if (q < 0) return -1;
    let k = q - 1;
    while (k >= i && b[k] === BACKSLASH) k--;
    if (((q - 1 - k) & 1) === 0) return q + 1;
    i = q + 1;
  }
}

/** Decoded byte of each single-character escape, indexed by the character after the backslash. */
const ESCAPE_VALUE = /* @__PURE__ */ (() => {
  const t = new Uint8Array(128);
  t[QUOTE] = QUOTE;
  t[BACKSLASH] = BACKSLASH;
  t[0x2f] = 0x2f;
  t[0x62] = 0x08;
  t[0x66] = 0x0c;
  t[0x6e] = 0x0a;
  t[0x72] = 0x0d;
  t[0x74] = 0x09;
  return t;
})();

/** Value of each hex digit byte, or 255 for any other byte. */
const HEX = /* @__PURE__ */ (() => {
  const t = new Uint8Array(256).fill(255);
  for (let d = 0; d < 10; d++) t[0x30 + d] = d;
  for (let d = 0; d < 6; d++) {
    t[0x41 + d] = 10 + d;
    t[0x61 + d] = 10 + d;
  }
  return t;
})();

/** The 16-bit value of 4 hex digits at `i`, or -1 if any is missing or not a hex digit. */
function hex4(b: Uint8Array, i: number): number {
  if (i + 4 > b.length) return -1;
  const a = HEX[b[i] as number] as number;
  const c = HEX[b[i + 1] as number] as number;
  const d = HEX[b[i + 2] as number] as number;
  const e = HEX[b[i + 3] as number] as number;
  // Digits are 0..15 and anything else 255, so any non-digit shows in the OR.
  if ((a | c | d | e) > 15) return -1;
  return (a << 12) | (c << 8) | (d << 4) | e;
}

/**
 * Validates the escape at `i` (a backslash) and returns the offset after it, or -1. Like serde_json (and
 * unlike JSON.parse) a `\u` escape of a lone surrogate is an error: the value would not be valid UTF-8.
 */
function skipEscape(b: Uint8Array, i: number): number {
  const e = b[i + 1];
  if (e !== undefined && e < 128 && (ESCAPE_VALUE[e] as number) !== 0) return i + 2;
  if (e === 0x75) {
    const cp = hex4(b, i + 2);
    if (cp < 0) return -1;
    if (cp < 0xd800 || cp > 0xdfff) return i + 6;
    if (cp >= 0xdc00) return -1;
    if (b[i + 6] !== BACKSLASH || b[i + 7] !== 0x75) return -1;
    const lo = hex4(b, i + 8);
    if (lo < 0xdc00 || lo > 0xdfff) return -1;
    return i + 12;
  }
  return -1;
}

/** Skips the number at `i` (JSON grammar: `-? int frac? exp?`); returns the offset after it, or -1. */
function skipNumber(b: Uint8Array, i: number): number {
  const n = b.length;
  const start = i;
  if (b[i] === 0x2d) i++;
  if (i >= n) return -1;
  let c = b[i] as number;
  if (c === 0x30) {
    i++;
  } else if (c >= 0x31 && c <= 0x39) {
    i++;
    while (i < n && (c = b[i] as number) >= 0x30 && c <= 0x39) i++;
  } else {
    return -1;
  }
  // Only an exponent or a very long integer can overflow a double (checked at the end).
  let mayOverflow = i - start > MAX_FINITE_INT_DIGITS;
  if (i < n && b[i] === 0x2e) {
    i++;
    const digits = i;
    while (i < n && (c = b[i] as number) >= 0x30 && c <= 0x39) i++;
    if (i === digits) return -1;
  }
  if (i < n && ((c = b[i] as number) === 0x65 || c === 0x45)) {
    i++;
    if (i < n && ((c = b[i] as number) === 0x2b || c === 0x2d)) i++;
    const digits = i;
    while (i < n && (c = b[i] as number) >= 0x30 && c <= 0x39) i++;
    if (i === digits) return -1;
    mayOverflow = true;
  }
  // serde_json refuses a number out of the double range ("number out of range"); JSON.parse
  // would give Infinity. Rare, so decoded the slow way.
  if (mayOverflow && !Number.isFinite(Number(asciiText(b, start, i)))) return -1;
  return i;
}

/** `b[start, end)` as a string, for ASCII bytes (no `apply`: a number may be megabytes long). */
function asciiText(b: Uint8Array, start: number, end: number): string {
  let text = '';
  for (let k = start; k < end; k++) text += String.fromCharCode(b[k] as number);
  return text;
}

/** UTF-8 bytes of the value of a JSON string whose content is `bytes[start, end)` (already validated). */
function unescapeJsonString(bytes: Uint8Array, start: number, end: number): Uint8Array {
  // Escapes never decode to more bytes than they take (\uXXXX is 6 bytes for at most 3, a pair 12 for 4).
  const out = new Uint8Array(end - start);
  let o = 0;
  let i = start;
  while (i < end) {
    const c = bytes[i] as number;
    if (c !== BACKSLASH) {
      out[o++] = c;
      i++;
      continue;
    }
    const e = bytes[i + 1] as number;
    i += 2;
    if (e !== 0x75) {
      out[o++] = ESCAPE_VALUE[e] as number;
      continue;
    }
    let cp = hex4(bytes, i);
    i += 4;
    if (cp >= 0xd800 && cp <= 0xdbff) {
      // Validated: a high surrogate escape is always followed by a low one.
      cp = 0x10000 + ((cp - 0xd800) << 10) + (hex4(bytes, i + 2) - 0xdc00);
      i += 6;
    }
    if (cp < 0x80) {
      out[o++] = cp;
    } else if (cp < 0x800) {
      out[o++] = 0xc0 | (cp >> 6);
      out[o++] = 0x80 | (cp & 0x3f);
    } else if (cp < 0x10000) {
      out[o++] = 0xe0 | (cp >> 12);
      out[o++] = 0x80 | ((cp >> 6) & 0x3f);
      out[o++] = 0x80 | (cp & 0x3f);
    } else {
      out[o++] = 0xf0 | (cp >> 18);
      out[o++] = 0x80 | ((cp >> 12) & 0x3f);
      out[o++] = 0x80 | ((cp >> 6) & 0x3f);
      out[o++] = 0x80 | (cp & 0x3f);
    }
  }
  return out.subarray(0, o);
}
