import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { createRequestAssembler, STARTED_TOGETHER_MS, type TraceRequest } from './assemble.js';
import { TraceError } from './errors.js';
import type { ReadRow } from './reader.js';

const T0 = Date.UTC(2026, 0, 5, 9);

function row(recordIndex: number, tsMs: number, extra: Partial<ReadRow> = {}): ReadRow {
  return { recordIndex, tsMs, ...extra };
}

function assemble(rows: readonly ReadRow[], reorderWindowMs = 60_000): TraceRequest[] {
  const out: TraceRequest[] = [];
  const assembler = createRequestAssembler({ reorderWindowMs, onRequest: (r) => out.push(r), file: 'trace.csv' });
  for (const r of rows) assembler.add(r);
  assembler.finish();
  return out;
}

describe('createRequestAssembler', () => {
  it('should release requests in ts order when rows are out of order within the window', () => {
    const out = assemble([row(0, T0 + 5_000), row(1, T0), row(2, T0 + 2_000)]);
    expect(out.map((r) => r.arrivalMs - T0)).toEqual([0, 2_000, 5_000]);
    expect(out.map((r) => r.seq)).toEqual([0, 1, 2]);
  });

  it('should fold the attempts of one request and take tokens from the attempt that succeeded', () => {
    const out = assemble([
      row(0, T0, { requestId: 'r1', account: 'a', status: 429, session: 's' }),
      row(1, T0 + 300, { requestId: 'r1', account: 'b', status: 200, outputTokens: 50, inputTokens: 5, model: 'claude-opus-4-5' }),
      row(2, T0 + 100, { requestId: 'r2', status: 200 }),
    ]);
    expect(out).toHaveLength(2);
    const first = out[0] as TraceRequest;
    expect(first.arrivalMs).toBe(T0);
    expect(first.session).toBe('s');
    expect(first.model).toBe('claude-opus-4-5');
    expect(first.tokens).toEqual({ input: 5, output: 50, cacheRead: 0, cacheCreation: 0 });
    expect(first.attempts).toHaveLength(2);
  });

  it('should leave a request that never succeeded without tokens, whatever its 429 rows carried', () => {
    const out = assemble([
      row(0, T0, { requestId: 'r1', account: 'a', status: 429, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 }),
      row(1, T0 + 300, { requestId: 'r1', account: 'b', status: 429 }),
    ]);
    expect(out[0]?.tokens).toBeNull();
  });

  it('should drop a retry that comes after its request was released, and count it', () => {
    const out: TraceRequest[] = [];
    const assembler = createRequestAssembler({ reorderWindowMs: 1_000, onRequest: (r) => out.push(r) });
    assembler.add(row(0, T0, { requestId: 'r1', status: 429 }));
    assembler.add(row(1, T0 + 10_000, { requestId: 'r2' }));
    assembler.add(row(2, T0 + 20_000, { requestId: 'r1', status: 200 }));
    assembler.finish();
    expect(out.map((r) => r.attempts.length)).toEqual([1, 1]);
    expect(assembler.lateAttempts).toBe(1);
  });

  it('should remember a released id for an hour, and forget it within two', () => {
    const out: TraceRequest[] = [];
    const min = 60_000;
    const assembler = createRequestAssembler({ reorderWindowMs: 1_000, onRequest: (r) => out.push(r) });
    assembler.add(row(0, T0, { requestId: 'r1' }));
    assembler.add(row(1, T0 + 30 * min, { requestId: 'r2' })); // releases r1
    assembler.add(row(2, T0 + 89 * min, { requestId: 'r1' })); // within the hour: a late attempt of r1
    assembler.add(row(3, T0 + 160 * min, { requestId: 'r3' }));
    assembler.add(row(4, T0 + 200 * min, { requestId: 'r4' }));
    assembler.add(row(5, T0 + 201 * min, { requestId: 'r1' })); // over two hours on: a new request
    assembler.finish();
    expect(assembler.lateAttempts).toBe(1);
    expect(out.map((r) => (r.arrivalMs - T0) / min)).toEqual([0, 30, 160, 200, 201]);
  });

  it('should name the row that is later than the window allows', () => {
    const assembler = createRequestAssembler({ reorderWindowMs: 1_000, onRequest: () => {}, file: 'trace.csv' });
    assembler.add(row(0, T0 + 10_000));
    assembler.add(row(1, T0 + 20_000));
    let error: unknown;
    try {
      assembler.add(row(2, T0));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TraceError);
    expect((error as TraceError).recordIndex).toBe(2);
    expect((error as TraceError).message).toMatch(/10s earlier than rows already replayed.*reorder window \(1s\)/);
  });

  test.prop([fc.array(fc.integer({ min: 0, max: 3_600_000 }), { maxLength: 200 }), fc.integer({ min: 0, max: 30_000 })])(
    'should release every row once, in ts order, whenever rows are at most the window out of order',
    (offsets, maxDelay) => {
      // Rows are appended when their request finishes: start + a delay no longer than the window.
      const started = offsets.map((offset, i) => ({ ts: T0 + offset, finish: T0 + offset + ((i * 7919) % (maxDelay + 1)), i }));
      const fileOrder = [...started].sort((a, b) => a.finish - b.finish || a.i - b.i);
      const out = assemble(
        fileOrder.map((r, k) => row(k, r.ts)),
        maxDelay,
      );
      expect(out).toHaveLength(offsets.length);
      const arrivals = out.map((r) => r.arrivalMs);
      expect(arrivals).toEqual([...arrivals].sort((a, b) => a - b));
    },
  );

  it('should tell conversations that start together from one that starts alone, the first of a burst included', () => {
    // A burst of three sub-agents 50-350 ms apart, each a few steps; a person's conversation 30 s later.
    // Rows are written when responses finish, so a burst's later conversation may come first in the file.
    const out = assemble([
      row(0, T0 + 200, { session: 'b' }),
      row(1, T0 + 50, { session: 'a' }),
      row(2, T0 + 350, { session: 'c' }),
      row(3, T0 + 4_000, { session: 'a' }),
      row(4, T0 + 30_000, { session: 'main' }),
      row(5, T0 + 31_000, { requestId: 'x' }),
      row(6, T0 + 34_000, { session: 'main' }),
    ]);
    expect(out.map((r) => [r.session, r.arrivalMs - T0, r.startedWith])).toEqual([
      ['a', 50, 2],
      ['b', 200, 2],
      ['c', 350, 2],
      ['a', 4_000, 2],
      ['main', 30_000, 0],
      [null, 31_000, 0],
      ['main', 34_000, 0],
    ]);
  });

  it("should date a conversation's start by its earliest request, whichever row comes first", () => {
    // 'late' is written before its first request (which started within the second of 'early') is.
    const out = assemble([row(0, T0 + 5_000, { session: 'late' }), row(1, T0, { session: 'early' }), row(2, T0 + 900, { session: 'late' })]);
    expect(out.map((r) => [r.session, r.startedWith])).toEqual([
      ['early', 1],
      ['late', 1],
      ['late', 1],
    ]);
  });

  it('should count a conversation once when two of its requests share its first millisecond', () => {
    // 'a' sends two requests in the same millisecond as 'b' starts: released in between, 'b' sees
    // one of them released and the other still buffered.
    const out = assemble([row(0, T0, { session: 'a' }), row(1, T0, { session: 'b' }), row(2, T0, { session: 'a' })]);
    expect(out.map((r) => [r.session, r.startedWith])).toEqual([
      ['a', 1],
      ['b', 1],
      ['a', 1],
    ]);
  });

  test.prop([
    fc.array(
      fc.record({ startMs: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 20_000 })), steps: fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5_000 })), { minLength: 1, maxLength: 3 }) }),
      { maxLength: 30 },
    ),
    fc.integer({ min: 0, max: 10_000 }),
  ])(
    'should count, for every request, the other conversations whose first request is within a second of its own',
    (conversations, maxDelay) => {
      // Each conversation's requests at increasing times (two may share a millisecond); rows in the
      // order their responses finish.
      const started = conversations.flatMap((c, k) => {
        let at = c.startMs;
        return c.steps.map((gap, j) => ({ session: `s${k}`, ts: T0 + (at += j === 0 ? 0 : gap), i: k * 10 + j }));
      });
      const fileOrder = started.map((r) => ({ ...r, finish: r.ts + ((r.i * 7919) % (maxDelay + 1)) })).sort((a, b) => a.finish - b.finish || a.i - b.i);
      // The window covers the rows' lateness and a second's lookahead past it.
      const out = assemble(
        fileOrder.map((r, k) => row(k, r.ts, { session: r.session })),
        maxDelay + STARTED_TOGETHER_MS,
      );
      const firstMs = new Map<string, number>();
      for (const r of started) firstMs.set(r.session, Math.min(firstMs.get(r.session) ?? Infinity, r.ts));
      const expected = (session: string): number =>
        [...firstMs].filter(([other, ms]) => other !== session && Math.abs(ms - (firstMs.get(session) as number)) <= STARTED_TOGETHER_MS).length;
      expect(out).toHaveLength(started.length);
      for (const r of out) expect(r.startedWith, `${r.session} at ${r.arrivalMs - T0}`).toBe(expected(r.session as string));
    },
  );
});
