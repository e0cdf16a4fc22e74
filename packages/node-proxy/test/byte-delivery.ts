/**
 * The byte-delivery property, shared by the in-process and the `shunt start` suites: for every
 * behaviour the mock upstream knows and every way of cutting its bytes into reads, the client's
 * response ends (with the bytes a direct call gives, or cut off cleanly after a prefix of them),
 * and the accounts' state afterwards is what the failover policy says.
 *
 * Account `a` misbehaves; account `b` answers normally, so a failover shows as b's bytes.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { MockDelivery, MockReply, MockUpstream } from '../src/mock-upstream.js';

/** Events in the mock's streamed reply (3 deltas): message_start, content_block_start, ping, … */
export const STREAM_EVENTS = 9;
/** Index of the first content event in that stream: a reply cut at or before it can still fail over. */
export const FIRST_CONTENT_EVENT = 3;

/** What account `a` does, as a mock reply. */
export type Behaviour = MockReply;

/** What the client should get. */
export interface Expected {
  /** Whose bytes the client gets. */
  readonly servedBy: 'a' | 'b';
  /** True when the response ends normally; false when it is cut off after a prefix. */
  readonly complete: boolean;
  /** Whether account a may serve the next request right away. */
  readonly aAvailable: boolean;
}

const ERROR_TYPES = ['overloaded_error', 'rate_limit_error', 'api_error', 'invalid_request_error'] as const;

/** Every behaviour worth enumerating (stalls included). */
export function allBehaviours(): Behaviour[] {
  const list: Behaviour[] = [{ kind: 'auto' }];
  for (const errorType of ERROR_TYPES) {
    for (let afterEvents = 0; afterEvents < STREAM_EVENTS; afterEvents++) list.push({ kind: 'stream-error', errorType, afterEvents });
  }
  list.push({ kind: 'drop' });
  for (let afterEvents = 0; afterEvents < STREAM_EVENTS; afterEvents++) {
    list.push({ kind: 'drop', afterEvents });
    list.push({ kind: 'stall', afterEvents });
  }
  list.push(
    { kind: 'window-429', resetInSecs: 3_600 },
    { kind: 'burst-429', retryAfterSecs: 30 },
    { kind: 'request-scoped-429' },
    { kind: 'status', status: 529 },
    { kind: 'status', status: 500 },
    { kind: 'status', status: 503 },
    { kind: 'status', status: 400 },
    { kind: 'status', status: 401 },
    { kind: 'status', status: 403 },
  );
  return list;
}

/** The behaviours as a fast-check arbitrary. */
export const behaviourArb: fc.Arbitrary<Behaviour> = fc.constantFrom(...allBehaviours());

/** The named deliveries (one read, one per event, one byte at a time) and random cuts. */
export const deliveryArb: fc.Arbitrary<MockDelivery> = fc.oneof(
  fc.constantFrom<MockDelivery>('one-write', 'per-event', 'byte-by-byte'),
  fc.record({ cuts: fc.array(fc.nat({ max: 3_000 }), { minLength: 1, maxLength: 12 }) }),
);

/**
 * `request_timeout_secs` for a case. A stall is judged by a timer, so on a loaded 2-core machine a
 * short one also fires on a healthy answer whose bytes trickle (one byte per write, through three
 * processes' event loops): a false stall. Only a stalling behaviour gets a short timeout (it must
 * fire, and its answer before the stall is short); every other case gets one that no scheduling
 * delay reaches, so its verdict never depends on the machine's load.
 */
export function requestTimeoutSecsOf(behaviour: Behaviour): number {
  return behaviour.kind === 'stall' || behaviour.kind === 'stall-headers' ? 1 : 30;
}

/** How long the client waits for a whole answer before calling it a hang (far beyond any stall timeout). */
export const CLIENT_TIMEOUT_MS = 90_000;

/** What the failover policy says should happen when `a` does `behaviour` (b is healthy). */
export function expectedOf(behaviour: Behaviour): Expected {
  switch (behaviour.kind) {
    case 'auto':
      return { servedBy: 'a', complete: true, aAvailable: true };
    case 'stream-error': {
      const beforeContent = (behaviour.afterEvents ?? 2) <= FIRST_CONTENT_EVENT;
      const capacity = behaviour.errorType === 'overloaded_error' || behaviour.errorType === 'rate_limit_error';
      if (beforeContent && (capacity || behaviour.errorType === 'api_error')) return { servedBy: 'b', complete: true, aAvailable: !capacity };
      // After the first content event (or an error about the request itself): passed through whole.
      return { servedBy: 'a', complete: true, aAvailable: !capacity };
    }
    case 'drop':
    case 'stall': {
      const afterEvents = behaviour.afterEvents ?? (behaviour.kind === 'stall' ? 1 : undefined);
      // One broken response is not proof the account is broken (it may be the request): no cooldown.
      if (afterEvents === undefined || afterEvents <= FIRST_CONTENT_EVENT) return { servedBy: 'b', complete: true, aAvailable: true };
      return { servedBy: 'a', complete: false, aAvailable: true };
    }
    case 'window-429':
    case 'burst-429':
      return { servedBy: 'b', complete: true, aAvailable: false };
    case 'request-scoped-429':
      return { servedBy: 'b', complete: true, aAvailable: true };
    case 'status':
      if (behaviour.status === 400) return { servedBy: 'a', complete: true, aAvailable: true };
      // 529 is the account's own signal; 401 (an API key cannot refresh) and 403 are too.
      if (behaviour.status === 529 || behaviour.status === 401 || behaviour.status === 403) return { servedBy: 'b', complete: true, aAvailable: false };
      // One 5xx from one request: fail over, but the account keeps serving others.
      return { servedBy: 'b', complete: true, aAvailable: true };
    case 'stall-headers':
      return { servedBy: 'b', complete: true, aAvailable: true };
  }
}

/** Where the case runs: a proxy in front of `mock`, with accounts a and b. */
export interface Target {
  readonly proxyUrl: string;
  readonly controlUrl: string;
  readonly mock: MockUpstream;
}

/** What the client received. */
interface Received {
  readonly status: number;
  readonly account: string | null;
  readonly body: Buffer;
  readonly error: unknown;
}

/** The body a client reads through the proxy; a cut-off response keeps the bytes that arrived. */
async function send(target: Target, stream: boolean, conversation: string, timeoutMs: number): Promise<Received> {
  const response = await fetch(`${target.proxyUrl}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-api-key': 'client' },
    body: JSON.stringify({ model: 'claude-test', max_tokens: 16, stream, messages: [{ role: 'user', content: conversation }] }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const chunks: Buffer[] = [];
  let error: unknown = null;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
  } catch (caught) {
    error = caught;
  }
  return { status: response.status, account: response.headers.get('x-shunt-account'), body: Buffer.concat(chunks), error };
}

/**
 * Run one case: script `a`, send one request, check what the client got against the bytes the
 * mock sent, and the accounts' availability afterwards (through `/status`, so it works for an
 * in-process proxy and a `shunt start` process alike).
 */
export async function checkCase(
  target: Target,
  behaviour: Behaviour,
  delivery: MockDelivery,
  stream: boolean,
  options: { readonly clientTimeoutMs: number; readonly label: string },
): Promise<void> {
  const expected = expectedOf(behaviour);
  const before = target.mock.requests.length;
  target.mock.setDelivery(delivery);
  target.mock.script('a', behaviour);
  const where = `${options.label}: a does ${JSON.stringify(behaviour)}, delivery ${JSON.stringify(delivery)}, stream ${stream}`;
  let received: Received;
  try {
    received = await send(target, stream, `${options.label}-${before}`, options.clientTimeoutMs);
  } catch (error) {
    throw new Error(`${where}: the request failed before a response (${String(error)})`);
  }
  const attempts = target.mock.requests.slice(before);
  const served = attempts.filter((r) => r.account === expected.servedBy).at(-1);
  expect(served, `${where}: ${expected.servedBy} was never asked`).toBeDefined();
  const sent = Buffer.concat(served?.sent.body ?? []);
  expect(received.account, `${where}: answered by`).toBe(expected.servedBy);
  if (expected.complete) {
    expect(received.error, `${where}: the response broke off`).toBeNull();
    expect(received.status, `${where}: status`).toBe(served?.sent.status);
    expect(received.body.toString('latin1'), `${where}: bytes`).toBe(sent.toString('latin1'));
  } else {
    expect(received.error, `${where}: the response should have been cut off`).not.toBeNull();
    expect(sent.subarray(0, received.body.length).toString('latin1'), `${where}: bytes (a prefix)`).toBe(received.body.toString('latin1'));
  }
  const status = (await (await fetch(`${target.controlUrl}/status`)).json()) as { accounts: Array<{ name: string; available: boolean }> };
  expect(status.accounts.find((a) => a.name === 'a')?.available, `${where}: a available afterwards`).toBe(expected.aAvailable);
  expect(status.accounts.find((a) => a.name === 'b')?.available, `${where}: b available afterwards`).toBe(true);
}
