import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { isEventStream, sseErrorSniffer, sseOpeningScanner, type SseError, type StreamOpening } from './sse.js';

const frame = (event: string, data: unknown, eol = '\n'): string => `event: ${event}${eol}data: ${JSON.stringify(data)}${eol}${eol}`;
const ERROR = frame('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
const STREAM = [
  frame('message_start', { type: 'message_start', message: { id: 'm', content: [] } }),
  frame('content_block_delta', { type: 'content_block_delta', delta: { type: 'text_delta', text: 'error: not an event "type":"error"' } }),
  ': a comment\n\n',
  frame('ping', { type: 'ping' }),
].join('');

/** Lines streams are made of: errors, content that mentions errors, multi-byte text, comments, blank lines. */
const SNIFFER_LINES = [
  '',
  '',
  'event: error',
  'event:error',
  'event: content_block_delta',
  'event: ping',
  'data: {"type":"error","error":{"type":"overloaded_error","message":"über"}}',
  'data: {"type": "error", "error": {"type": "rate_limit_error"}}',
  'data: {"type":"content_block_delta","delta":{"text":"héllo ✓ 😀"}}',
  'data: {"type":"content_block_delta","delta":{"text":"error \\"type\\":\\"error\\""}}',
  'data: not json é',
  'data:',
  ': a comment ✓',
  'é😀',
];

function sniff(chunks: readonly Uint8Array[]): SseError[] {
  const found: SseError[] = [];
  const sniffer = sseErrorSniffer((error) => found.push(error));
  for (const chunk of chunks) sniffer.push(chunk);
  sniffer.end();
  return found;
}

/** Cut `bytes` at the given offsets. */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  out.push(bytes.subarray(from));
  return out;
}

describe('sseErrorSniffer', () => {
  it('should report an error event with its type and message', () => {
    expect(sniff([Buffer.from(STREAM + ERROR)])).toEqual([{ type: 'overloaded_error', message: 'Overloaded' }]);
  });

  it('should report nothing for an ordinary stream, even when its text mentions errors', () => {
    expect(sniff([Buffer.from(STREAM)])).toEqual([]);
  });

  it('should report a data-only error frame', () => {
    expect(sniff([Buffer.from('data: {"type": "error", "error": {"type": "rate_limit_error"}}\n\n')])).toEqual([{ type: 'rate_limit_error' }]);
  });

  it('should handle CRLF and CR line endings', () => {
    const crlf = frame('error', { type: 'error', error: { type: 'rate_limit_error' } }, '\r\n');
    const cr = frame('error', { type: 'error', error: { type: 'api_error' } }, '\r');
    expect(sniff([Buffer.from(crlf + cr)]).map((e) => e.type)).toEqual(['rate_limit_error', 'api_error']);
  });

  it('should report a last frame that lacks its closing blank line', () => {
    expect(sniff([Buffer.from(ERROR.trimEnd())]).map((e) => e.type)).toEqual(['overloaded_error']);
  });

  it('should skip over-long lines without keeping them', () => {
    const long = `data: ${'x'.repeat(200)}\n\n`;
    const found: SseError[] = [];
    const sniffer = sseErrorSniffer((e) => found.push(e), { maxLineChars: 50 });
    for (let i = 0; i < long.length; i += 7) sniffer.push(Buffer.from(long.slice(i, i + 7)));
    sniffer.push(Buffer.from(ERROR));
    sniffer.end();
    expect(found.map((e) => e.type)).toEqual(['overloaded_error']);
  });

  test.prop([fc.array(fc.nat({ max: 2000 }), { maxLength: 40 }), fc.constantFrom('\n', '\r\n', '\r')])(
    'should find the same errors wherever the chunks split the stream (even inside a multi-byte character or CRLF)',
    (cuts, eol) => {
      const text =
        frame('message_start', { type: 'message_start', text: 'héllo ✓ 😀' }, eol) +
        frame('error', { type: 'error', error: { type: 'overloaded_error', message: 'über ✓' } }, eol) +
        frame('content_block_delta', { delta: { text: '😀😀' } }, eol) +
        frame('error', { type: 'error', error: { type: 'rate_limit_error' } }, eol);
      const bytes = Buffer.from(text);
      expect(sniff(split(bytes, cuts))).toEqual([
        { type: 'overloaded_error', message: 'über ✓' },
        { type: 'rate_limit_error' },
      ]);
    },
  );

  it('should read a line after a chunk it passed over whole, even when a character was split before it', () => {
    // The second chunk has no "error" and is passed over undecoded; the half of "é" that ended the
    // first chunk must not stick to the line that the third chunk finishes.
    const chunks = [Buffer.from('é\n\xc3', 'latin1'), Buffer.from('\xa9x\nevent: err', 'latin1'), Buffer.from('or\ndata: {}\n\n')];
    expect(sniff(chunks)).toEqual([{ type: 'unknown' }]);
    expect(sniff([Buffer.concat(chunks)])).toEqual([{ type: 'unknown' }]);
  });

  test.prop([
    fc.array(fc.tuple(fc.constantFrom(...SNIFFER_LINES), fc.constantFrom('\n', '\r\n', '\r')), { maxLength: 30 }),
    fc.array(fc.nat({ max: 3000 }), { maxLength: 40 }),
  ])('should find the same errors in any stream however it is cut as when it comes in one piece', (lines, cuts) => {
    const bytes = Buffer.from(lines.map(([line, eol]) => line + eol).join(''));
    expect(sniff(split(bytes, cuts))).toEqual(sniff([bytes]));
  });

  test.prop([fc.uint8Array({ maxLength: 500 })])('should never throw on arbitrary bytes', (bytes) => {
    expect(() => sniff([bytes])).not.toThrow();
  });
});

/** The opening scanner's verdict on `chunks`, and the number of chunks it needed (all of them when it needed the end). */
function judge(chunks: readonly Uint8Array[]): { readonly verdict: StreamOpening; readonly after: number } {
  const scanner = sseOpeningScanner();
  for (let i = 0; i < chunks.length; i++) {
    const verdict = scanner.push(chunks[i] as Uint8Array);
    if (verdict !== null) return { verdict, after: i + 1 };
  }
  return { verdict: scanner.end(), after: chunks.length };
}

/** Lines an opening is made of: preamble events, content, errors (data-only too), multi-byte text, comments. */
const OPENING_LINES = [
  '',
  '',
  '',
  'event: message_start',
  'data: {"type":"message_start","message":{"content":[],"model":"héllo ✓ 😀"}}',
  'event: ping',
  'data: {"type":"ping"}',
  'event: content_block_start',
  'event: content_block_delta',
  'data: {"type":"content_block_delta","delta":{"text":"é😀"}}',
  'event: error',
  'data: {"type":"error","error":{"type":"overloaded_error","message":"über"}}',
  'data: {"type": "error", "error": {"type": "rate_limit_error"}}',
  ': a comment ✓',
  'data:',
];

describe('sseOpeningScanner', () => {
  const opening = frame('message_start', { type: 'message_start', message: { content: [] } }) + frame('ping', { type: 'ping' });

  it('should judge the opening over at the first content event, and not before its frame ends', () => {
    const content = frame('content_block_delta', { type: 'content_block_delta', delta: { text: 'hi' } });
    const scanner = sseOpeningScanner();
    expect(scanner.push(Buffer.from(opening))).toBeNull();
    expect(scanner.push(Buffer.from(content.slice(0, -1)))).toBeNull();
    expect(scanner.push(Buffer.from('\n'))).toEqual({ kind: 'content' });
  });

  it('should report an error event that comes before any content, and a data-only one', () => {
    expect(judge([Buffer.from(opening + ERROR)]).verdict).toEqual({ kind: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    expect(judge([Buffer.from(opening + 'data: {"type": "error", "error": {"type": "rate_limit_error"}}\r\n\r\n')]).verdict).toEqual({
      kind: 'error',
      error: { type: 'rate_limit_error' },
    });
  });

  it('should say the stream ended when it ends inside the preamble, and count a last frame without its blank line', () => {
    expect(judge([Buffer.from(opening)]).verdict).toEqual({ kind: 'ended' });
    expect(judge([Buffer.from(opening + ERROR.trimEnd())]).verdict.kind).toBe('error');
  });

  test.prop([
    fc.array(fc.tuple(fc.constantFrom(...OPENING_LINES), fc.constantFrom('\n', '\r\n', '\r')), { maxLength: 30 }),
    fc.array(fc.nat({ max: 3000 }), { maxLength: 40 }),
  ])('should reach the same verdict however the stream is cut (byte by byte, inside a CRLF or a multi-byte character too)', (lines, cuts) => {
    const bytes = Buffer.from(lines.map(([line, eol]) => line + eol).join(''));
    const whole = judge([bytes]).verdict;
    const pieces = split(bytes, cuts);
    const cut = judge(pieces);
    expect(cut.verdict).toEqual(whole);
    expect(judge([...bytes].map((byte) => Uint8Array.of(byte))).verdict).toEqual(whole);
    // It stops at the chunk that completes the verdict: no later chunk changes it.
    if (cut.verdict.kind !== 'ended') expect(judge(pieces.slice(0, cut.after)).verdict).toEqual(whole);
  });
});

/**
 * The opening's verdict read from the whole stream at once, as the event-stream format defines its
 * frames (a reference written apart from the scanner): lines split at CRLF, CR or LF, a blank line
 * ends a frame, `event` names it, `data` lines join with LF; the first frame that is neither a
 * preamble event nor empty decides.
 */
function referenceVerdict(text: string): StreamOpening {
  const preamble = new Set(['message_start', 'content_block_start', 'ping']);
  let event = '';
  let data: string[] | null = null;
  const decide = (): StreamOpening | null => {
    const frame = { event, data };
    event = '';
    data = null;
    if (frame.data === null && frame.event === '') return null;
    const joined = frame.data === null ? '' : frame.data.join('\n');
    let parsed: unknown;
    try {
      parsed = JSON.parse(joined);
    } catch {
      parsed = undefined;
    }
    const record = typeof parsed === 'object' && parsed !== null ? (parsed as { type?: unknown; error?: { type?: unknown; message?: unknown } }) : null;
    const leadingType = /^\s*\{\s*"type"\s*:\s*"([^"\\]*)"/.exec(joined)?.[1];
    const type = frame.event !== '' ? frame.event : leadingType;
    if (type !== undefined && preamble.has(type)) return null;
    const errorOf = (): SseError => {
      const inner = record !== null && typeof record.error === 'object' && record.error !== null ? record.error : {};
      const errorType = typeof inner.type === 'string' ? inner.type : 'unknown';
      return typeof inner.message === 'string' ? { type: errorType, message: inner.message } : { type: errorType };
    };
    if (type === 'error') return { kind: 'error', error: record === null ? { type: 'unknown' } : errorOf() };
    if (type === undefined && record !== null && record.type === 'error') return { kind: 'error', error: errorOf() };
    return { kind: 'content' };
  };
  const lines = text.split(/\r\n|\r|\n/);
  // The text after the last line break is a last line without its break (end() reads it).
  for (const line of lines) {
    if (line === '') {
      const verdict = decide();
      if (verdict !== null) return verdict;
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + (line[colon + 1] === ' ' ? 2 : 1));
    if (field === 'event') event = value;
    else if (field === 'data') (data ??= []).push(value);
  }
  return decide() ?? { kind: 'ended' };
}

describe('sseOpeningScanner against a reference', () => {
  // Lines with fields in any order, odd spacing, fields the scanner ignores, names that only start
  // like `event`/`data`, and events in data-only frames.
  const line = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...OPENING_LINES) },
    fc.constantFrom('event:message_start', 'event:  ping', 'event', 'data', 'eventx: error', 'datum: {"type":"error"}', 'id: 7', 'retry: 10', 'data: {"type":"ping"}', 'data:{"type":"content_block_start"}', 'data: [1]', 'event: '),
    fc.string({ unit: fc.constantFrom('e', 'd', 'a', ':', ' ', 'é', '{', '"', 'x'), maxLength: 8 }),
  );
  test.prop([fc.array(fc.tuple(line, fc.constantFrom('\n', '\r\n', '\r')), { maxLength: 24 }), fc.boolean(), fc.array(fc.nat({ max: 3000 }), { maxLength: 30 })])(
    'should reach the verdict the format defines, however the stream is cut',
    (lines, lastUnterminated, cuts) => {
      let text = lines.map(([l, eol]) => l + eol).join('');
      // Now and then the stream ends inside its last line.
      if (lastUnterminated && lines.length > 0) text = text.replace(/(\r\n|\r|\n)$/, '');
      const bytes = Buffer.from(text);
      expect(judge(split(bytes, cuts)).verdict).toEqual(referenceVerdict(text));
    },
  );
});

describe('sseOpeningScanner on arbitrary bytes', () => {
  test.prop([fc.array(fc.oneof(fc.constantFrom(...OPENING_LINES.map((line) => `${line}\n`)), fc.uint8Array({ maxLength: 8 })), { maxLength: 20 }), fc.array(fc.nat({ max: 500 }), { maxLength: 20 })])(
    'should reach the same verdict however invalid UTF-8 among the lines is cut',
    (parts, cuts) => {
      const bytes = Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : Buffer.from(part))));
      expect(judge(split(bytes, cuts)).verdict).toEqual(judge([bytes]).verdict);
    },
  );
});

describe('isEventStream', () => {
  it('should recognise the SSE content type in any case and with parameters', () => {
    expect(isEventStream('text/event-stream; charset=utf-8')).toBe(true);
    expect(isEventStream('Text/Event-Stream')).toBe(true);
    expect(isEventStream('application/json')).toBe(false);
    expect(isEventStream(undefined)).toBe(false);
  });
});
