/**
 * Embedding @shunt/core in a gateway: pick an account, forward, classify the outcome, fail over or
 * hold. Runs offline: `upstream` below stands in for `fetch` to api.anthropic.com and answers
 * like Anthropic does (one account is out of 5-hour quota and answers 429).
 *
 *   pnpm --filter @shunt/core example
 */
import {
  classifyResponse,
  fingerprint,
  memoryStore,
  pickAccount,
  recordResponse,
  soonestAvailableMs,
} from '@shunt/core';

interface PooledAccount {
  readonly name: string;
  readonly apiKey: string;
}

const accounts: PooledAccount[] = [
  { name: 'work', apiKey: 'sk-ant-work' },
  { name: 'personal', apiKey: 'sk-ant-personal' },
];
const store = memoryStore(); // the system clock; pass { now } to drive it yourself
const maxHoldMs = 600_000;

let requests = 0;

/** Forward one request body through the pool; the answer carries `x-shunt-account`. */
export async function forward(body: string): Promise<Response> {
  const conversation = fingerprint(body);
  // A 5xx cools an account only once several distinct requests failed on it.
  const requestKey = String(requests++);
  const tried = new Set<string>();
  const deadline = store.now() + maxHoldMs;
  for (;;) {
    const account = pickAccount(accounts, store, { fingerprint: conversation, tried, strategy: 'maximus' });
    if (account === null) {
      // Nothing eligible: hold until the first account returns, instead of failing.
      const back = soonestAvailableMs(accounts, store);
      if (back === null || back > deadline) return overloaded(back);
      await new Promise((resolve) => setTimeout(resolve, back - store.now()));
      tried.clear();
      continue;
    }
    const response = await upstream(account, body);
    const action = classifyResponse(
      { status: response.status, headers: response.headers },
      { nowMs: store.now(), canRefresh: false },
    );
    recordResponse(store, account, action, { requestKey });
    if (action.kind === 'failover') {
      tried.add(account.name);
      continue;
    }
    const headers = new Headers(response.headers);
    headers.set('x-shunt-account', account.name);
    return new Response(response.body, { status: response.status, headers });
  }
}

function overloaded(back: number | null): Response {
  const retryAfterSecs = back === null ? undefined : Math.ceil((back - store.now()) / 1000);
  return Response.json(
    { type: 'error', error: { type: 'overloaded_error', message: 'every account is out of quota' } },
    { status: 503, headers: retryAfterSecs === undefined ? {} : { 'retry-after': String(retryAfterSecs) } },
  );
}

/** A stand-in for Anthropic: "work" has spent its 5-hour window. */
async function upstream(account: PooledAccount, _body: string): Promise<Response> {
  const resetSecs = Math.floor(Date.now() / 1000) + 3600;
  if (account.name === 'work') {
    return Response.json(
      { type: 'error', error: { type: 'rate_limit_error', message: 'rate limited' } },
      {
        status: 429,
        headers: {
          'anthropic-ratelimit-unified-5h-status': 'rejected',
          'anthropic-ratelimit-unified-5h-utilization': '1.0',
          'anthropic-ratelimit-unified-5h-reset': String(resetSecs),
        },
      },
    );
  }
  return Response.json(
    { type: 'message', content: [{ type: 'text', text: 'Hello!' }] },
    {
      headers: {
        'anthropic-ratelimit-unified-5h-status': 'allowed',
        'anthropic-ratelimit-unified-5h-utilization': '0.12',
        'anthropic-ratelimit-unified-5h-reset': String(resetSecs),
      },
    },
  );
}

const body = JSON.stringify({
  model: 'claude-sonnet-4-5',
  max_tokens: 256,
  system: 'You are a helpful assistant.',
  messages: [{ role: 'user', content: 'Say hello.' }],
});
for (const turn of [1, 2]) {
  const response = await forward(body);
  console.log(`turn ${turn}: ${response.status} from ${response.headers.get('x-shunt-account')}`);
}
console.log(`work is cooling until ${new Date(store.cooldownUntilMs('work') ?? 0).toISOString()}`);
