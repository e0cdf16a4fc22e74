import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { isEventStream, sseErrorSniffer, type SseError } from './sse.js';

const frame = (event: string, data: unknown, eol = '\n'): string => `event: ${event}${eol}data: ${JSON.stringify(data)}${eol}${eol}`;
const ERROR = frame('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
const STREAM = [
  frame('message_start', { type: 'message_start', message: { id: 'm', content: [] } }),
  frame('content_block_delta', { type: 'content_block_delta', delta: { type: 'text_delta', text: 'error: not an event "type":"error"' } }),
  ': a comment\n\n',
  frame('ping', { type: 'ping' }),
].join('');

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

  test.prop([fc.uint8Array({ maxLength: 500 })])('should never throw on arbitrary bytes', (bytes) => {
    expect(() => sniff([bytes])).not.toThrow();
  });
});

describe('isEventStream', () => {
  it('should recognise the SSE content type in any case and with parameters', () => {
    expect(isEventStream('text/event-stream; charset=utf-8')).toBe(true);
    expect(isEventStream('Text/Event-Stream')).toBe(true);
    expect(isEventStream('application/json')).toBe(false);
    expect(isEventStream(undefined)).toBe(false);
  });
});
