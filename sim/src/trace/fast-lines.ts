/**
 * @module
 * Splitting plain CSV lines straight from the bytes: the trace reader's fast path.
 *
 * A plain record is a line without a double quote, so its fields are simply the bytes between
 * commas and no CSV state machine is needed. Working on bytes is safe for UTF-8: the bytes of
 * `\n`, `\r`, `,` and `"` never occur inside a multi-byte sequence. The first record that is not
 * plain is handed back, with every byte after it, for csv-parse to read: the splitter never
 * guesses at quoting.
 *
 * Everything here mirrors csv-parse with the reader's options, so the records, and the line
 * numbers errors will carry, are the ones csv-parse would give:
 * - csv-parse takes the first line ending it meets (`\r\n`, `\n` or `\r`) as the record delimiter
 *   of the whole file. `\n` and `\r\n` files are split here; a file whose first line ends in a
 *   bare `\r` is csv-parse's from the start.
 * - With `\n` records a `\r` is ordinary data (`a,b\r\n` ends in the field `b\r`). With `\r\n`
 *   records a `\n` without its `\r` is data inside the record, so that line is not plain.
 * - Empty lines are skipped.
 * - csv-parse counts a line at every `\r` and every `\n` byte, a `\r` that is data included, but
 *   the `\n` of a `\r\n` delimiter only once; an error names the line its record ends on.
 */

/** A record delimiter the splitter handles. */
export type RecordDelimiter = '\n' | '\r\n';

/** Receives the plain records, in file order. */
export interface PlainRecordSink {
  /**
   * One plain record of `fieldCount` fields: field `i` is the bytes `buf[seps[i] + 1, seps[i + 1])`
   * (`seps` holds the comma positions, bracketed by the positions just before and just after the
   * record). `ascii` says every byte is below 0x80. `line` is the line csv-parse would name in an
   * error about this record (counted from the first byte the splitter saw, from 1).
   *
   * May throw: the exception leaves {@link PlainLineSplitter.push} and the read is over.
   */
  record(buf: Buffer, seps: Int32Array, fieldCount: number, ascii: boolean, line: number): void;
}

/** The point from which csv-parse must read the rest of the file. */
export interface Handoff {
  /** The bytes from the start of the first record that is not plain to the end of what was pushed. */
  readonly rest: Buffer;
  /**
   * The record delimiter csv-parse must use, or undefined when it must discover it itself
   * (nothing was split here, not even the first line ending).
   */
  readonly delimiter: RecordDelimiter | undefined;
  /** csv-parse's line number at the first byte of `rest`, counted like {@link PlainRecordSink.record}'s. */
  readonly line: number;
}

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const COMMA = 0x2c;

/**
 * A line this long without a line ending is not a trace row: csv-parse, which grows its buffers
 * instead of re-reading the partial line, takes over.
 */
const MAX_PLAIN_LINE_BYTES = 1 << 20;

/** The fast path's splitter: feed it the file's chunks; it returns a {@link Handoff} once csv-parse must take over. */
export class PlainLineSplitter {
  private readonly sink: PlainRecordSink;
  private delimiter: RecordDelimiter | undefined;
  /** The unfinished last line of the previous chunk (or, before the delimiter is known, everything so far). */
  private carry: Buffer | undefined;
  /** Lines csv-parse has counted before the first byte of `carry` (or of the next chunk). */
  private linesBefore = 0;
  private seps: Int32Array = new Int32Array(64);
  private done = false;

  constructor(sink: PlainRecordSink) {
    this.sink = sink;
  }

  /** Split the complete plain lines of one more chunk; a handoff means csv-parse reads the rest (push nothing more). */
  push(chunk: Buffer): Handoff | null {
    if (this.done) throw new Error('PlainLineSplitter: push after handoff');
    if (this.delimiter === undefined) {
      const buf = this.carry === undefined ? chunk : Buffer.concat([this.carry, chunk]);
      this.carry = undefined;
      const found = firstLineEnding(buf);
      if (found === 'unknown') return this.keep(buf, 0);
      if (found === 'csv-parse') return this.handOff(buf, 0);
      this.delimiter = found;
      return this.splitFrom(buf, 0);
    }
    if (this.carry === undefined) return this.splitFrom(chunk, 0);
    // Finish the line the last chunk cut, copying only that line, then split the chunk in place.
    const carry = this.carry;
    this.carry = undefined;
    const newline = chunk.indexOf(LF);
    if (newline === -1) return this.keep(Buffer.concat([carry, chunk]), 0);
    const line = Buffer.concat([carry, chunk.subarray(0, newline + 1)]);
    const unsplit = this.split(line, 0);
    if (unsplit !== line.length) return this.handOff(Buffer.concat([line.subarray(unsplit < 0 ? -1 - unsplit : unsplit), chunk.subarray(newline + 1)]), 0);
    return this.splitFrom(chunk, newline + 1);
  }

  /**
   * The end of the file. A last line without a line ending goes to csv-parse: it is one line,
   * and at the very end of the input csv-parse leaves a trailing `\r` out of the line count.
   */
  end(): Handoff | null {
    if (this.done) throw new Error('PlainLineSplitter: end after handoff');
    const carry = this.carry;
    this.carry = undefined;
    this.done = true;
    if (carry === undefined || carry.length === 0) return null;
    return this.handOff(carry, 0);
  }

  /** Split `buf` from `from`, keeping its unfinished last line for the next chunk. */
  private splitFrom(buf: Buffer, from: number): Handoff | null {
    const rest = this.split(buf, from);
    if (rest < 0) return this.handOff(buf, -1 - rest);
    return this.keep(buf, rest);
  }

  /** Keep `buf[from..]` (a line still without its end) for the next chunk. */
  private keep(buf: Buffer, from: number): Handoff | null {
    if (buf.length - from > MAX_PLAIN_LINE_BYTES) return this.handOff(buf, from);
    if (from < buf.length) this.carry = buf.subarray(from);
    return null;
  }

  private handOff(buf: Buffer, from: number): Handoff {
    this.done = true;
    return { rest: buf.subarray(from), delimiter: this.delimiter, line: this.linesBefore + 1 };
  }

  /**
   * Hand every complete line of `buf` from `from` on to the sink. Returns where the unfinished
   * last line starts, or `-1 - start` for the start of a line that is not plain.
   *
   * One loop over the bytes, and every byte above `,` (digits, letters, `-`, `.`, `:`, UTF-8)
   * takes the first `continue`: this is the hot loop of a whole replay.
   */
  private split(buf: Buffer, from: number): number {
    const crlf = this.delimiter === '\r\n';
    const sink = this.sink;
    const length = buf.length;
    let seps = this.seps;
    let lineStart = from;
    let commas = 0;
    let crs = 0;
    let bits = 0;
    seps[0] = from - 1;
    for (let i = from; i < length; i++) {
      const byte = buf[i] as number;
      bits |= byte;
      if (byte > COMMA) continue;
      if (byte === COMMA) {
        if (++commas >= seps.length - 1) seps = this.growSeps();
        seps[commas] = i;
      } else if (byte === LF) {
        let end = i;
        let lines = crs + 1;
        if (crlf) {
          // Only `\r\n` ends a record; a bare `\n` is data that csv-parse must place.
          if (i === lineStart || buf[i - 1] !== CR) return -1 - lineStart;
          end = i - 1;
          lines = crs;
        }
        if (end > lineStart) {
          seps[commas + 1] = end;
          // The line an error names is where the record ends: its own `\r`s count, a delimiter's `\r` does not.
          sink.record(buf, seps, commas + 1, bits < 0x80, this.linesBefore + 1 + crs - (crlf ? 1 : 0));
        }
        this.linesBefore += lines;
        lineStart = i + 1;
        seps[0] = i;
        commas = 0;
        crs = 0;
        bits = 0;
      } else if (byte === CR) {
        crs++;
      } else if (byte === QUOTE) {
        return -1 - lineStart;
      }
    }
    return lineStart;
  }

  private growSeps(): Int32Array {
    const grown = new Int32Array(this.seps.length * 2);
    grown.set(this.seps);
    this.seps = grown;
    return grown;
  }
}

/**
 * The record delimiter csv-parse would discover in a file starting with `buf`: the first line
 * ending, `'csv-parse'` when that is a bare `\r` or a quote comes first (so csv-parse reads the
 * whole file), or `'unknown'` until `buf` holds a line ending and the byte after a `\r`.
 */
function firstLineEnding(buf: Buffer): RecordDelimiter | 'csv-parse' | 'unknown' {
  for (let i = 0; i < buf.length; i++) {
    const byte = buf[i];
    if (byte === LF) return '\n';
    if (byte === QUOTE) return 'csv-parse';
    if (byte === CR) {
      if (i + 1 === buf.length) return 'unknown';
      return buf[i + 1] === LF ? '\r\n' : 'csv-parse';
    }
  }
  return 'unknown';
}
