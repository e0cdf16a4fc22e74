/**
 * What `@shunt/node-proxy` records (`record_trace`) is what the simulator reads and replays: the
 * proxy is driven by the official Anthropic SDK against the mock upstream, the file is read back
 * with the simulator's reader, and a scripted session is replayed under the strategy it was
 * recorded with.
 */
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { fingerprint, memoryStore, strategies } from '@shunt/core';
import { createMockUpstream, createProxy, parseConfig, silentLogger, type MockUpstream, type ShuntProxy } from '@shunt/node-proxy';
import { afterEach, describe, expect, it } from 'vitest';
import { createRequestAssembler } from '../src/trace/assemble.js';
import { readTrace, type ReadRow } from '../src/trace/reader.js';
import { simulate } from '../src/replay/simulate.js';
import { tempDir } from './helpers.js';

const dir = tempDir();
const T0 = Date.UTC(2026, 0, 5, 9);

interface Running {
  readonly mock: MockUpstream;
  readonly proxy: ShuntProxy;
  readonly client: Anthropic;
}

let running: Running | null = null;
afterEach(async () => {
  await running?.proxy.close();
  await running?.mock.close();
  running = null;
});

/** Mock accounts a, b (and more), the proxy recording to `file`, the SDK pointed at it. */
async function start(file: string, options: { accounts?: string[]; usagePerRequest?: number; clock?: { now: () => number } } = {}): Promise<Running> {
  const names = options.accounts ?? ['a', 'b'];
  const now = options.clock?.now;
  const mock = createMockUpstream({
    accounts: names.map((name) => ({ name, key: `key-${name}` })),
    ...(now === undefined ? {} : { now }),
    ...(options.usagePerRequest === undefined ? {} : { usagePerRequest: options.usagePerRequest }),
  });
  const upstreamUrl = await mock.listen();
  const config = parseConfig(
    {
      server: { port: 0, control_port: 0, upstream_url: upstreamUrl, record_trace: file, routing_strategy: 'maximus' },
      accounts: names.map((name) => ({ name, api_key: `key-${name}` })),
    },
    { file: '<test>', env: {} },
  );
  const proxy = createProxy({
    config,
    logger: silentLogger,
    ...(now === undefined ? {} : { now, store: memoryStore({ now }), sleep: async () => {} }),
  });
  const { proxyUrl } = await proxy.listen();
  const client = new Anthropic({ apiKey: 'client-key', baseURL: proxyUrl, maxRetries: 0, timeout: 20_000 });
  running = { mock, proxy, client };
  return running;
}

function params(conversation: string, turn = 0) {
  return {
    model: 'claude-sonnet-4-5',
    max_tokens: 64,
    system: `conversation ${conversation}`,
    messages: [{ role: 'user' as const, content: `first message of ${conversation}` }, ...Array.from({ length: turn }, (_, i) => ({ role: 'user' as const, content: `turn ${i + 1}` }))],
  };
}

async function stream(client: Anthropic, conversation: string): Promise<void> {
  const events = await client.messages.create({ ...params(conversation), stream: true });
  for await (const _ of events) {
    // drain
  }
}

async function rowsOf(file: string): Promise<ReadRow[]> {
  const rows: ReadRow[] = [];
  await readTrace(file, (row) => rows.push(row));
  return rows;
}

describe('a trace recorded by the proxy', () => {
  it('should read back with the simulator reader: one row per upstream response, failovers sharing a request_id', async () => {
    const file = join(dir, 'recorded.csv');
    const { mock, proxy, client } = await start(file);
    const before = Date.now();

    await client.messages.create(params('one')); // JSON, served by a
    await stream(client, 'two'); // a stream, on the fresher account b
    mock.script('a', { kind: 'window-429', resetInSecs: 3600 });
    await client.messages.create(params('one')); // sticky on a: 429, then served by b
    mock.script('b', { kind: 'window-429', resetInSecs: 3600 });
    await expect(client.messages.create(params('three'))).rejects.toMatchObject({ status: 429 }); // b 429, a cooling for an hour
    await expect(client.messages.create(params('four'))).rejects.toMatchObject({ status: 429 }); // nothing eligible: no upstream attempt
    await proxy.close();

    const rows = await rowsOf(file);
    const plain = rows.map(({ recordIndex: _, ...row }) => row);
    expect(plain.map((r) => [r.requestId === undefined ? '-' : 'id', r.account ?? '', r.status])).toEqual([
      ['id', 'a', 200],
      ['id', 'b', 200],
      ['id', 'a', 429],
      ['id', 'b', 200],
      ['id', 'b', 429],
      ['id', '', 429],
    ]);
    const [r1, r2, r3a, r3b, r4, r5] = plain as [ReadRow, ReadRow, ReadRow, ReadRow, ReadRow, ReadRow];
    // Request ids: one per client request, shared by its attempts.
    expect(new Set(plain.map((r) => r.requestId)).size).toBe(5);
    expect(r3a.requestId).toBe(r3b.requestId);
    // The conversation is its fingerprint (64 hex digits), never content; the same conversation, the same key.
    expect(r1.session).toMatch(/^[0-9a-f]{64}$/);
    expect(r3a.session).toBe(r1.session);
    expect(r2.session).not.toBe(r1.session);
    expect(r1.model).toBe('claude-sonnet-4-5');
    // Tokens from usage: the JSON body, and message_start + message_delta of the stream.
    expect(r1).toMatchObject({ inputTokens: 12, outputTokens: 4 });
    expect(r2).toMatchObject({ inputTokens: 12, outputTokens: 4 });
    expect(r3a.inputTokens).toBeUndefined();
    // The unified headers as they came.
    expect(r1).toMatchObject({ utilization5h: 0.001, status5h: 'allowed', utilization7d: 0.0001, status7d: 'allowed' });
    expect(r1.reset5hSecs).toBe(mock.window('a').reset5hSecs);
    expect(r3a).toMatchObject({ utilization5h: 1, status5h: 'rejected' });
    expect(r4).toMatchObject({ account: 'b', status: 429, status5h: 'rejected' });
    // The proxy's own answer: demand with no account.
    expect(r5).toMatchObject({ status: 429, session: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(r5.utilization5h).toBeUndefined();
    // ts is when the client request started: a failover's rows share it.
    expect(r3a.tsMs).toBe(r3b.tsMs);
    for (const row of plain) {
      expect(row.tsMs).toBeGreaterThanOrEqual(before - 1);
      expect(row.durationMs).toBeGreaterThanOrEqual(0);
    }
  }, 30_000);
});

describe('replaying a recorded session', () => {
  it('should reproduce the recorded picks under the strategy it was recorded with, where the model allows', async () => {
    // A scripted session on a virtual clock: 6 conversations of 6 turns over 36 minutes, three
    // accounts, each served request using 2 % of its 5-hour window.
    let t = T0;
    const clock = { now: () => t };
    const file = join(dir, 'session.csv');
    const { mock, proxy, client } = await start(file, { accounts: ['a', 'b', 'c'], usagePerRequest: 0.02, clock });
    const conversations = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
    for (let turn = 0; turn < 6; turn++) {
      for (const [i, conversation] of conversations.entries()) {
        // Halfway through, one request meets a burst 429 on its account (a `retry-after` limit the
        // model does not have): the proxy fails it over.
        if (turn === 3 && i === 0) {
          const key = fingerprint(JSON.stringify(params(conversation)));
          const stuck = key === null ? null : proxy.store.getSticky(key);
          if (stuck !== null) mock.script(stuck, { kind: 'burst-429', retryAfterSecs: 30 });
        }
        if ((turn + i) % 2 === 0) await client.messages.create(params(conversation, turn));
        else await stream(client, conversation);
        t += 60_000;
      }
    }
    await proxy.close();

    // The recorded picks: per request, the account whose answer the client got.
    const rows = await rowsOf(file);
    const recorded = new Map<string, string>();
    const failedOver = new Set<string>();
    for (const row of rows) {
      if (row.status === 200) recorded.set(row.requestId as string, row.account as string);
      else failedOver.add(row.requestId as string);
    }
    expect(recorded.size).toBe(36);
    expect(failedOver.size).toBe(1);

    // The replay's request order (seq) is the assembler's: map it back to request ids.
    const idOfSeq: string[] = [];
    const assembler = createRequestAssembler({ onRequest: (request) => (idOfSeq[request.seq] = request.attempts[0]?.requestId as string) });
    for (const row of rows) assembler.add(row);
    assembler.finish();

    const replayed = new Map<string, string>();
    const result = await simulate({
      file,
      strategies: [strategies.maximus],
      routing: { stickyTtlMs: 10 * 60_000, expirySoonSecs: 30 * 60, maxWaitMs: 600_000 },
      // One plan for all three: calibration fits them as one group, from every account's readings.
      pool: { kind: 'file', accounts: ['a', 'b', 'c'].map((name) => ({ name, plan: 'max5' as const })) },
      onAttempt: (_strategy, event) => {
        if (event.action.kind === 'success') replayed.set(idOfSeq[event.request.seq] as string, event.account);
      },
    });
    expect(result.trace.costModel.mode).toBe('calibrated');
    expect(result.trace.requests).toBe(36);
    expect(result.trace.accounts.map((a) => a.name)).toEqual(['a', 'b', 'c']);

    // "Where the model allows" excludes what the simulator's account model does not have:
    // - a request the recording failed over for a reason other than a full window (here the burst
    //   429, whose `retry-after` the model never sends), and every later request of its
    //   conversation, whose sticky account changed because of it;
    // - nothing else in this session: the model is calibrated from the recorded utilization
    //   (2 % per request), starts each account from its first recorded reading, and sorts the pool
    //   by name, as the proxy's config lists it, so ties break the same way.
    const excluded = new Set<string>();
    const sessionOf = new Map(rows.map((r) => [r.requestId as string, r.session as string]));
    const tainted = new Set([...failedOver].map((id) => sessionOf.get(id)));
    for (const id of recorded.keys()) if (tainted.has(sessionOf.get(id))) excluded.add(id);
    expect(excluded.size).toBeLessThan(8);
    // …and the exclusion is real: after the burst 429 the recording moved that conversation, the replay did not.
    expect([...excluded].some((id) => replayed.get(id) !== recorded.get(id))).toBe(true);

    const compared = [...recorded.keys()].filter((id) => !excluded.has(id));
    expect(compared.length).toBeGreaterThan(28);
    expect(compared.map((id) => [id, replayed.get(id)])).toEqual(compared.map((id) => [id, recorded.get(id)]));
    // The recorded session used every account, so the comparison is not trivially one account.
    expect(new Set(compared.map((id) => recorded.get(id))).size).toBe(3);
  }, 60_000);
});
