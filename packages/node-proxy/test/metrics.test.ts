/**
 * `GET /metrics`: Prometheus text from the proxy's own registry, gauges read from the store at
 * scrape time, counters fed by the request path, behind the control token.
 */
import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryStore } from '@shunt/core';
import { createMetrics } from '../src/metrics.js';
import { plainBackend } from '../src/state.js';
import { control, messageParams, startStack, streamText, textOf, type Stack } from './helpers.js';

let stacks: Stack[] = [];
afterEach(async () => {
  await Promise.all(stacks.map((s) => s.close()));
  stacks = [];
});

async function metricsOf(stack: Stack, headers: Record<string, string> = {}): Promise<{ status: number; type: string | null; text: string }> {
  const response = await fetch(`${stack.controlUrl}/metrics`, { headers });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

/** The value of one series (`name{labels}`), or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

describe('/metrics', () => {
  it('should expose cooldowns, availability and counters after a 429 then a success', async () => {
    const stack = await startStack({ accounts: [{ name: 'a', key: 'key-a', utilization5h: 0.25 }, { name: 'b', key: 'key-b' }] });
    stacks.push(stack);
    stack.mock.script('a', { kind: 'burst-429', retryAfterSecs: 30 });
    expect(textOf(await stack.client.messages.create(messageParams('m1')))).toBe('served by b');
    expect(await streamText(stack.client, 'm2')).toBe('served by b');

    const { status, type, text } = await metricsOf(stack);
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(text).toMatch(/# HELP shunt_account_cooldown_seconds /);
    expect(text).toMatch(/# TYPE shunt_requests_total counter/);

    const cooldown = sample(text, 'shunt_account_cooldown_seconds{account="a"}');
    expect(cooldown).toBeGreaterThan(25);
    expect(cooldown).toBeLessThanOrEqual(30);
    expect(sample(text, 'shunt_account_cooldown_seconds{account="b"}')).toBe(0);
    expect(sample(text, 'shunt_account_available{account="a"}')).toBe(0);
    expect(sample(text, 'shunt_account_available{account="b"}')).toBe(1);
    expect(sample(text, 'shunt_requests_total{account="b",outcome="served"}')).toBe(2);
    expect(sample(text, 'shunt_failovers_total{account="a",reason="retry_after"}')).toBe(1);
    expect(sample(text, 'shunt_state_backend_up{backend="custom"}')).toBe(1);
    // One upstream attempt on a (the 429), two on b; nothing was held.
    expect(sample(text, 'shunt_upstream_latency_seconds_count{account="a"}')).toBe(1);
    expect(sample(text, 'shunt_upstream_latency_seconds_count{account="b"}')).toBe(2);
    expect(sample(text, 'shunt_holds_total')).toBe(0);

    // Windows from the rate-limit headers: a's 429 carried its 5-hour utilization.
    expect(sample(text, 'shunt_account_utilization{account="a",window="5h"}')).toBeCloseTo(0.25, 2);
    expect(sample(text, 'shunt_account_utilization{account="b",window="7d"}')).toBeGreaterThan(0);
    const reset = sample(text, 'shunt_account_reset_seconds{account="b",window="5h"}');
    expect(reset).toBeGreaterThan(0);
    expect(reset).toBeLessThanOrEqual(5 * 3600);
  });

  it('should count holds and their duration', async () => {
    const store = memoryStore();
    const metrics = createMetrics({ accounts: [{ name: 'a' }], store, state: plainBackend(store, 'custom') });
    metrics.observeRequest({ account: 'a', outcome: 'served', attempts: [], heldMs: 1_500 });
    metrics.observeRequest({ account: null, outcome: 'spent', attempts: [], heldMs: 600_000 });
    metrics.observeRequest({ account: 'a', outcome: 'served', attempts: [], heldMs: 0 });
    const { body } = await metrics.render();
    expect(sample(body, 'shunt_holds_total')).toBe(2);
    expect(sample(body, 'shunt_hold_seconds_count')).toBe(2);
    expect(sample(body, 'shunt_hold_seconds_sum')).toBeCloseTo(601.5, 6);
    expect(sample(body, 'shunt_hold_seconds_bucket{le="5"}')).toBe(1);
  });

  it('should count what the proxy answered itself under account "none"', async () => {
    const stack = await startStack();
    stacks.push(stack);
    const response = await fetch(`${stack.proxyUrl}/not-the-api`);
    expect(response.status).toBe(404);
    await response.text();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sample((await metricsOf(stack)).text, 'shunt_requests_total{account="none",outcome="rejected"}')).toBe(1);
  });

  it('should keep each proxy\'s series apart', async () => {
    const one = await startStack();
    const two = await startStack();
    stacks.push(one, two);
    one.mock.script('a', { kind: 'burst-429', retryAfterSecs: 30 });
    await one.client.messages.create(messageParams('x'));
    expect(sample((await metricsOf(one)).text, 'shunt_failovers_total{account="a",reason="retry_after"}')).toBe(1);
    expect(sample((await metricsOf(two)).text, 'shunt_failovers_total{account="a",reason="retry_after"}')).toBeUndefined();
    expect(sample((await metricsOf(two)).text, 'shunt_account_cooldown_seconds{account="a"}')).toBe(0);
  });

  it('should require the control token when one is set', async () => {
    const stack = await startStack({ server: { control_token: 'control-secret-1' } });
    stacks.push(stack);
    expect((await metricsOf(stack)).status).toBe(401);
    const ok = await metricsOf(stack, { authorization: 'Bearer control-secret-1' });
    expect(ok.status).toBe(200);
    expect(ok.text).toMatch(/shunt_account_available\{account="a"\} 1/);
    expect((await control(stack, 'GET', '/nope', undefined, { authorization: 'Bearer control-secret-1' })).json).toMatchObject({
      routes: expect.arrayContaining(['GET /metrics']),
    });
  });

  it('should forget untallied requests and latencies on a registry reset', async () => {
    const store = memoryStore();
    const metrics = createMetrics({ accounts: [{ name: 'a' }], store, state: plainBackend(store, 'custom') });
    metrics.observeRequest({ account: 'a', outcome: 'served', attempts: [], heldMs: 0 });
    metrics.observeUpstream('a', 20);
    metrics.registry.resetMetrics();
    metrics.observeRequest({ account: 'a', outcome: 'spent', attempts: [], heldMs: 0 });
    const { body } = await metrics.render();
    expect(sample(body, 'shunt_requests_total{account="a",outcome="served"}')).toBeUndefined();
    expect(sample(body, 'shunt_requests_total{account="a",outcome="spent"}')).toBe(1);
    expect(sample(body, 'shunt_upstream_latency_seconds_count{account="a"}')).toBeUndefined();
  });

  it('should render the request counter and the latency histogram exactly as prom-client would', async () => {
    // The hot-path series are tallied outside prom-client and must read as its own Counter and
    // Histogram fed the same observations (bounds hit exactly, above the last bound, zero, read twice).
    const outcome = fc.constantFrom('served', 'spent', 'failed_over_out', 'client_gone');
    const event = fc.oneof(
      fc.record({ kind: fc.constant('request' as const), account: fc.constantFrom('a', 'b', null), outcome }),
      fc.record({
        kind: fc.constant('upstream' as const),
        account: fc.constantFrom('a', 'b', 'c'),
        ms: fc.oneof(fc.constantFrom(0, 50, 100, 250, 120_000, 120_001, 1e7), fc.double({ min: 0, max: 200_000, noNaN: true })),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(event, { maxLength: 30 }), { minLength: 1, maxLength: 3 }), async (batches) => {
        const store = memoryStore();
        const metrics = createMetrics({ accounts: [{ name: 'a' }, { name: 'b' }], store, state: plainBackend(store, 'custom') });
        const reference = new Registry();
        const requests = new Counter({ name: 'shunt_requests_total', help: 'x', labelNames: ['account', 'outcome'], registers: [reference] });
        const latency = new Histogram({
          name: 'shunt_upstream_latency_seconds',
          help: 'x',
          labelNames: ['account'],
          buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
          registers: [reference],
        });
        const seriesOf = (text: string, prefix: string): string[] => text.split('\n').filter((line) => line.startsWith(prefix)).sort();
        for (const batch of batches) {
          for (const e of batch) {
            if (e.kind === 'request') {
              metrics.observeRequest({ account: e.account, outcome: e.outcome, attempts: [], heldMs: 0 });
              requests.inc({ account: e.account ?? 'none', outcome: e.outcome });
            } else {
              metrics.observeUpstream(e.account, e.ms);
              latency.observe({ account: e.account }, e.ms / 1000);
            }
          }
          // Read after every batch: the tally is handed over on each read and must not count twice.
          const { body } = await metrics.render();
          const expected = await reference.metrics();
          for (const prefix of ['shunt_requests_total{', 'shunt_upstream_latency_seconds_']) expect(seriesOf(body, prefix)).toEqual(seriesOf(expected, prefix));
        }
      }),
      { numRuns: 200 },
    );
  });
});
