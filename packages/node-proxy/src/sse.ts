/**
 * @module
 * Spotting `event: error` frames in a server-sent-event stream as it passes through, without
 * touching a byte of it. Chunks may split a frame anywhere (even inside `\r\n`); the sniffer keeps
 * only the unfinished line between chunks, and nothing at all of the ordinary events' data.
 */
import { asBuffer, bytesAt, includesFinder, lastLineBreak } from './bytes.js';

/** An error frame found in a stream: its `error.type` (`rate_limit_error`, …) and message. */
export interface SseError {
  /** The `error.type` field of the frame's JSON data, or `"unknown"` when it has none. */
  readonly type: string;
  /** The `error.message` field, when present. */
  readonly message?: string;
}

/** Feeds stream chunks in, reports error frames out. */
export interface SseErrorSniffer {
  /** Look at the next chunk (the caller forwards the same bytes unchanged). */
  push(chunk: Uint8Array): void;
  /** The stream ended: a last frame without its closing blank line is still reported. */
  end(): void;
}

/** Options for {@link sseErrorSniffer}. */
export interface SseErrorSnifferOptions {
  /**
   * Longest line kept while looking for its end, in characters. Longer lines are skipped (error
   * frames are short; long lines are content deltas).
   * @default 65536
   */
  readonly maxLineChars?: number;
}

/** True when a `content-type` header names a server-sent-event stream. */
export function isEventStream(contentType: string | readonly string[] | undefined): boolean {
  if (contentType === undefined) return false;
  const value = typeof contentType === 'string' ? contentType : contentType.join(',');
  return value.toLowerCase().includes('text/event-stream');
}

/**
 * Watch a server-sent-event stream for error frames: an `event: error` frame, or a data-only
 * frame whose JSON says `"type": "error"` (both are what Anthropic sends). Calls `onError` once per
 * frame. Never throws on malformed input.
 *
 * @example
 * ```ts
 * const sniffer = sseErrorSniffer((error) => console.log(error.type));
 * sniffer.push(Buffer.from('event: error\ndata: {"type":"error","error":{"type":"overloaded_error"}}\n\n'));
 * // logs "overloaded_error"
 * ```
 */
export function sseErrorSniffer(onError: (error: SseError) => void, options: SseErrorSnifferOptions = {}): SseErrorSniffer {
  const maxLineChars = options.maxLineChars ?? 65_536;
  // Made on the first chunk that needs decoding: most streams never have one (see push), and a
  // TextDecoder costs a converter.
  let decoder: InstanceType<typeof TextDecoder> | null = null;
  let partial = '';
  // True while the rest of an over-long line is being skipped.
  let skipping = false;
  // The previous chunk ended in '\r': a leading '\n' now belongs to that line break.
  let afterCr = false;
  const LINE_BREAK = /\r\n|\r|\n/g;
  let event = '';
  let data: string[] | null = null;

  const dispatch = (): void => {
    if (data !== null) {
      const found = parseError(data.join('\n'), event === 'error');
      if (found !== null) onError(found);
    }
    event = '';
    data = null;
  };

  const line = (text: string): void => {
    if (text === '') {
      dispatch();
      return;
    }
    const parsed = sseField(text);
    if (parsed === null) return;
    const [field, value] = parsed;
    if (field === 'event') {
      event = value;
    } else if (field === 'data') {
      // Only frames that can be errors are kept: ordinary deltas are never buffered.
      if (event === 'error' || data !== null || looksLikeError(value)) (data ??= []).push(value);
    }
  };

  return {
    push(input) {
      let chunk = input;
      // Most chunks are content deltas: when no frame is under way and the chunk's complete lines
      // have no "error" in them (neither an `event: error` line nor an error-looking data line can
      // be written without it), they are passed over undecoded.
      if (data === null && event !== 'error' && partial === '' && !skipping) {
        const bytes = chunk;
        const lastBreak = lastLineBreak(bytes);
        if (lastBreak !== -1 && !hasErrorBytes(bytes)) {
          // Those lines may have named an event, never `error`; a blank line among them ends it.
          event = '';
          afterCr = bytes[lastBreak] === CR && lastBreak === bytes.length - 1;
          // A line break ends any character: a multi-byte one begun in the previous chunk is over.
          decoder?.decode();
          if (lastBreak === bytes.length - 1) return;
          chunk = bytes.subarray(lastBreak + 1);
        }
      }
      const text = (decoder ??= new TextDecoder()).decode(chunk, { stream: true });
      let start = 0;
      if (afterCr) {
        afterCr = false;
        if (text.charCodeAt(0) === 10) start = 1;
      }
      LINE_BREAK.lastIndex = start;
      for (let match = LINE_BREAK.exec(text); match !== null; match = LINE_BREAK.exec(text)) {
        const piece = text.slice(start, match.index);
        if (skipping) skipping = false;
        else line(partial === '' ? piece : partial + piece);
        partial = '';
        start = LINE_BREAK.lastIndex;
        // A '\r' at the very end may be the first half of a '\r\n' split across chunks.
        if (match[0] === '\r' && start === text.length) afterCr = true;
      }
      if (skipping) return;
      if (start < text.length) partial += text.slice(start);
      if (partial.length > maxLineChars) {
        partial = '';
        skipping = true;
      }
    },
    end() {
      const rest = partial + (decoder?.decode() ?? '');
      partial = '';
      if (rest !== '' && !skipping) line(rest);
      skipping = false;
      dispatch();
    },
  };
}

const LF = 0x0a;
const CR = 0x0d;
const hasErrorBytes = includesFinder(Buffer.from('error'));

/** A non-blank SSE line as `[field, value]` (one space after the colon dropped), or null for a comment. */
function sseField(text: string): readonly [field: string, value: string] | null {
  if (text.charCodeAt(0) === 58 /* ':' comment */) return null;
  const colon = text.indexOf(':');
  if (colon === -1) return [text, ''];
  const value = text.charCodeAt(colon + 1) === 32 ? text.slice(colon + 2) : text.slice(colon + 1);
  return [text.slice(0, colon), value];
}

function looksLikeError(value: string): boolean {
  return /^\s*\{\s*"type"\s*:\s*"error"/.test(value);
}

function parseError(text: string, isErrorEvent: boolean): SseError | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return isErrorEvent ? { type: 'unknown' } : null;
  }
  if (typeof json !== 'object' || json === null) return isErrorEvent ? { type: 'unknown' } : null;
  const record = json as { type?: unknown; error?: unknown };
  if (!isErrorEvent && record.type !== 'error') return null;
  const error = typeof record.error === 'object' && record.error !== null ? (record.error as { type?: unknown; message?: unknown }) : {};
  const type = typeof error.type === 'string' ? error.type : 'unknown';
  return typeof error.message === 'string' ? { type, message: error.message } : { type };
}

/**
 * Where a stream's opening ends, and how: at its first `content` event (anything but the
 * preamble events `message_start`, `content_block_start` and `ping`), at an `error` event that
 * comes before any content, or (`ended`) when the body ends inside the preamble.
 */
export type StreamOpening =
  | { readonly kind: 'content' }
  | { readonly kind: 'error'; readonly error: SseError }
  | { readonly kind: 'ended' };

/** Reads a stream's preamble event by event; see {@link sseOpeningScanner}. */
export interface SseOpeningScanner {
  /** Look at the next chunk; returns the verdict once the opening is over, else null. */
  push(chunk: Uint8Array): StreamOpening | null;
  /** The body ended (a last event without its closing blank line still counts). */
  end(): StreamOpening;
}

/**
 * Decide where a stream's opening ends, from its events alone: however the bytes were cut into
 * reads, the same stream gets the same verdict. Nothing of the opening has reached the client
 * yet, so an error in it can still fail over; one after the first content event cannot. Only the
 * preamble is ever buffered here (a few hundred bytes in practice).
 *
 * Lines are read as bytes and only what a verdict needs is decoded (an event's name; a frame's
 * data when it is not a preamble event): decoding every chunk and splitting it with a regular
 * expression was the larger part of a stream's own work in the profile.
 */
export function sseOpeningScanner(): SseOpeningScanner {
  // The unfinished line's bytes (kept whole until its end: a character cut between reads is
  // then decoded in one piece).
  let partial: Buffer | null = null;
  let afterCr = false;
  let event = '';
  let data: Buffer[] | null = null;
  let verdict: StreamOpening | null = null;

  const dispatch = (): void => {
    if (data === null && event === '') return;
    const named = event;
    const lines = data;
    event = '';
    data = null;
    if (named !== '' && PREAMBLE_EVENTS.has(named)) return;
    const text = lines === null ? '' : lines.length === 1 ? (lines[0] as Buffer).toString('utf8') : lines.map((line) => line.toString('utf8')).join('\n');
    const type = named !== '' ? named : dataType(text);
    if (type !== undefined && PREAMBLE_EVENTS.has(type)) return;
    if (type === 'error') {
      verdict = { kind: 'error', error: parseError(text, true) ?? { type: 'unknown' } };
      return;
    }
    // A data-only frame whose JSON says it is an error is one too (see sseErrorSniffer).
    const error = type === undefined ? parseError(text, false) : null;
    verdict = error === null ? { kind: 'content' } : { kind: 'error', error };
  };
  // One line, `buf[start, end)`, its line break excluded.
  const line = (buf: Buffer, start: number, end: number): void => {
    if (start === end) {
      dispatch();
      return;
    }
    if (buf[start] === COLON) return; // a comment
    if (bytesAt(buf, start, EVENT_FIELD) && (start + EVENT_FIELD.length === end || buf[start + EVENT_FIELD.length] === COLON)) {
      event = buf.toString('utf8', fieldValueAt(buf, start + EVENT_FIELD.length, end), end);
    } else if (bytesAt(buf, start, DATA_FIELD) && (start + DATA_FIELD.length === end || buf[start + DATA_FIELD.length] === COLON)) {
      (data ??= []).push(Buffer.from(buf.subarray(fieldValueAt(buf, start + DATA_FIELD.length, end), end)));
    }
    // Any other field (id, retry, …) says nothing about the opening.
  };

  return {
    push(chunk) {
      if (verdict !== null) return verdict;
      let buf = asBuffer(chunk);
      let start = 0;
      if (afterCr) {
        afterCr = false;
        if (buf[0] === LF) start = 1;
      }
      if (partial !== null) {
        buf = Buffer.concat([partial, buf.subarray(start)]);
        start = 0;
        partial = null;
      }
      for (let i = start; i < buf.length; i++) {
        const byte = buf[i];
        if (byte !== LF && byte !== CR) continue;
        line(buf, start, i);
        if (byte === CR) {
          // A '\r' at the very end may be the first half of a '\r\n' split across chunks.
          if (i + 1 === buf.length) afterCr = true;
          else if (buf[i + 1] === LF) i++;
        }
        start = i + 1;
        if (verdict !== null) return verdict;
      }
      if (start < buf.length) partial = Buffer.from(buf.subarray(start));
      return null;
    },
    end() {
      if (verdict !== null) return verdict;
      if (partial !== null) line(partial, 0, partial.length);
      partial = null;
      dispatch();
      return verdict ?? { kind: 'ended' };
    },
  };
}

const COLON = 0x3a;
const EVENT_FIELD = Buffer.from('event');
const DATA_FIELD = Buffer.from('data');

/** Where a field's value starts: after the colon at `at` and one space, if any; `end` when the line has no colon. */
function fieldValueAt(buf: Buffer, at: number, end: number): number {
  if (at === end) return end;
  return buf[at + 1] === 0x20 && at + 1 < end ? at + 2 : at + 1;
}

/** Events that come before a stream's first content: an error among them can still fail over. */
const PREAMBLE_EVENTS: ReadonlySet<string> = new Set(['message_start', 'content_block_start', 'ping']);

/** The `type` field of an event's JSON data, when the frame has no `event:` line. */
function dataType(text: string): string | undefined {
  const match = /^\s*\{\s*"type"\s*:\s*"([^"\\]*)"/.exec(text);
  return match === null ? undefined : match[1];
}
