/**
 * @module
 * {@link StringJsonScanner}: the {@link JsonCursor} for a JS string, validating it in place.
 *
 * A JS string cannot be read four bytes at a time as the byte scanner does, and encoding it to UTF-8 first
 * costs about a third of `JSON.parse` on the two-byte strings Claude Code bodies decode to (every Read tool
 * line has a `→`). So string bodies go through a sticky regular expression, which V8 compiles to native
 * code: one call validates a whole string (escapes, control characters and surrogate pairing included).
 */
import { MAX_FINITE_INT_DIGITS, MAX_NESTING, type JsonCursor } from './json-scan.js';

/**
 * Cursor over a JSON document held in a JS string. Any lone surrogate (raw or `\u`-escaped) makes the
 * document invalid, since the same text as UTF-8 bytes could not exist. Methods return `false` on a
 * syntax error (the cursor is then meaningless) instead of throwing.
 */
export class StringJsonScanner implements JsonCursor {
  /** The document. */
  readonly text: string;
  /** Offset (in UTF-16 code units) of the next unread unit. */
  pos: number;
  /** Content range (between the quotes) of the string last read by {@link readString}. */
  strStart: number;
  /** End (exclusive) of the string last read by {@link readString}. */
  strEnd: number;
  /** Whether that string may contain an escape (false means its code units are its value). */
  strEscaped: boolean;
  // Deeply nested input must not recurse; nesting is limited (MAX_NESTING), so the stack is too.
  // Holds each open container's closing code.
  private readonly stack: Uint8Array;

  // Whether skipped strings are only skimmed for their end (see the constructor).
  private readonly skim: boolean;

  /**
   * Scanner positioned at the start of `text`. With `skim`, the strings `skipValue` passes over are
   * only searched for their closing quote, not validated (as ByteJsonScanner's).
   */
  constructor(text: string, skim = false) {
    this.skim = skim;
    this.text = text;
    this.pos = 0;
    this.strStart = 0;
    this.strEnd = 0;
    this.strEscaped = false;
    this.stack = NESTING_STACK;
  }

  /** Skips whitespace and returns the next code unit without consuming it, or -1 at the end. */
  peek(): number {
    const s = this.text;
    const n = s.length;
    let i = this.pos;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) {
        this.pos = i;
        return c;
      }
      i++;
    }
    this.pos = n;
    return -1;
  }

  /** Consumes `c` (after optional whitespace); false if the next unit is anything else. */
  expect(c: number): boolean {
    if (this.peek() !== c) return false;
    this.pos++;
    return true;
  }

  /** Reads the string at the cursor (which must be at its opening quote) into strStart/strEnd/strEscaped. */
  readString(): boolean {
    const start = this.pos + 1;
    const end = skipStringBody(this.text, start);
    if (end < 0) return false;
    this.strStart = start;
    this.strEnd = end - 1;
    // A slice of a flat string is a view in V8, and includes() a memchr: cheap for the few strings read.
    this.strEscaped = end - 1 > start && this.text.slice(start, end - 1).includes('\\');
    this.pos = end;
    return true;
  }

  /** Whether the string last read, escapes decoded, equals the ASCII `literal`. */
  stringEquals(literal: string): boolean {
    if (this.strEscaped) return this.value(this.strStart, this.strEnd, true) === literal;
    return this.strEnd - this.strStart === literal.length && this.text.startsWith(literal, this.strStart);
  }

  /** The value of a string read earlier, given its strStart/strEnd/strEscaped. */
  value(start: number, end: number, escaped: boolean): string {
    // JSON.parse of the (already validated) literal decodes its escapes natively.
    return escaped ? (JSON.parse(this.text.slice(start - 1, end + 1)) as string) : this.text.slice(start, end);
  }

  /** Validates and skips one value of any kind at the cursor, inside `outer` open containers, without recursion. */
  skipValue(outer: number): boolean {
    const s = this.text;
    const n = s.length;
    const stack = this.stack;
    let depth = 0;
    let i = this.pos;
    let c = 0;
    for (;;) {
      // A value starts here.
      while ((c = s.charCodeAt(i)) === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      if (c === QUOTE) {
        i = this.skim ? skimStringBody(s, i + 1) : skipStringBody(s, i + 1);
        if (i < 0) return false;
      } else if (c === 0x7b || c === 0x5b) {
        // serde_json refuses the MAX_NESTING-th nested container, empty or not.
        if (outer + depth + 1 >= MAX_NESTING) return false;
        // '{' + 2 is '}' and '[' + 2 is ']'.
        const close = c + 2;
        i++;
        while ((c = s.charCodeAt(i)) === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
        if (c === close) {
          i++;
        } else {
          stack[depth++] = close;
          if (close === 0x7d) {
            i = skipKey(s, i);
            if (i < 0) return false;
          }
          continue;
        }
      } else if (c === 0x74) {
        if (!s.startsWith('true', i)) return false;
        i += 4;
      } else if (c === 0x66) {
        if (!s.startsWith('false', i)) return false;
        i += 5;
      } else if (c === 0x6e) {
        if (!s.startsWith('null', i)) return false;
        i += 4;
      } else {
        // NaN past the end fails here too: charCodeAt is NaN, not a digit or '-'.
        NUMBER.lastIndex = i;
        if (!NUMBER.test(s)) return false;
        const start = i;
        i = NUMBER.lastIndex;
        // Only an exponent or a very long integer can overflow a double: find an exponent by
        // walking back over the trailing digits (a '-' there is the exponent's sign, not the number's).
        let k = i - 1;
        while (k > start && (c = s.charCodeAt(k)) >= 0x30 && c <= 0x39) k--;
        c = s.charCodeAt(k);
        if (c === 0x65 || c === 0x45 || c === 0x2b || (c === 0x2d && k > start) || i - start > MAX_FINITE_INT_DIGITS) {
          if (!Number.isFinite(Number(s.slice(start, i)))) return false;
        }
      }
      // A value ended here: close containers until one continues with another element.
      for (;;) {
        if (depth === 0) {
          this.pos = i;
          return true;
        }
        while ((c = s.charCodeAt(i)) === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
        const close = stack[depth - 1];
        if (c === 0x2c) {
          i++;
          if (close === 0x7d) {
            i = skipKey(s, i);
            if (i < 0) return false;
          }
          break;
        }
        if (c !== close || i >= n) return false;
        i++;
        depth--;
      }
    }
  }
}

/**
 * A stretch of string content: runs of ordinary units and up to 4096 escapes (a `\u` escape of a surrogate
 * only as a high-low pair, as serde_json requires) or raw surrogate pairs. It always matches, possibly
 * empty. The bound matters: irregexp keeps a backtrack entry per repetition, and an unbounded `*` over
 * a string of millions of escapes overflows its stack (a RangeError) or crawls.
 */
const STRING_CHUNK =
  /[^"\\\u0000-\u001f\ud800-\udfff]*(?:(?:\\["\\/bfnrt]|\\u(?:[0-9a-cA-Ce-fE-F][0-9a-fA-F]{3}|[dD][0-7][0-9a-fA-F]{2}|[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})|[\ud800-\udbff][\udc00-\udfff])[^"\\\u0000-\u001f\ud800-\udfff]*){0,4096}/y;

// Local copies, as in json-scan.ts: an imported binding read on every loop iteration cost a quarter of
// the scan time.
const QUOTE = 0x22;
const COLON = 0x3a;

/** The open-container stack every scanner shares, as in json-scan.ts (there is the reason). */
const NESTING_STACK = /* @__PURE__ */ new Uint8Array(MAX_NESTING);

/** JSON number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`. */
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/** Short strings (keys, enum values) end before this many units; checking them in JS beats a regex call. */
const SHORT_STRING = 24;

/**
 * Validates string content from `i` (just after the opening quote) and returns the offset just after the
 * closing quote, or -1.
 */
function skipStringBody(s: string, i: number): number {
  const limit = Math.min(s.length, i + SHORT_STRING);
  for (; i < limit; i++) {
    const c = s.charCodeAt(i);
    if (c === QUOTE) return i + 1;
    if (c === 0x5c || c < 0x20 || (c >= 0xd800 && c <= 0xdfff)) break;
  }
  for (;;) {
    STRING_CHUNK.lastIndex = i;
    STRING_CHUNK.test(s);
    const end = STRING_CHUNK.lastIndex;
    if (s.charCodeAt(end) === QUOTE) return end + 1;
    // No progress: the unit at `end` can neither continue nor close the string (or the text ended).
    if (end === i) return -1;
    i = end;
  }
}

/**
 * The offset just after the closing quote of the string whose content starts at `i`, for text taken
 * to be JSON (nothing is validated), or -1: the first `"` not preceded by an odd run of backslashes.
 */
function skimStringBody(s: string, i: number): number {
  for (;;) {
    const q = s.indexOf('"', i);
    if (q < 0) return -1;
    let k = q - 1;
    while (k >= i && s.charCodeAt(k) === 0x5c) k--;
    if (((q - 1 - k) & 1) === 0) return q + 1;
    i = q + 1;
  }
}

/** Skips `ws "key" ws :` from `i` inside an object; returns the offset after the colon, or -1. */
function skipKey(s: string, i: number): number {
  let c = 0;
  while ((c = s.charCodeAt(i)) === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
  if (c !== QUOTE) return -1;
  i = skipStringBody(s, i + 1);
  if (i < 0) return -1;
  while ((c = s.charCodeAt(i)) === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
  return c === COLON ? i + 1 : -1;
}
