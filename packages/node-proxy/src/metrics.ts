/**
 * @module
 * `GET /metrics`: the proxy's Prometheus series, on a registry of its own (never prom-client's
 * global one, so several proxies in one process do not collide).
 *
 * Two kinds of series:
 * - **gauges read from the store at scrape time**: one entry in {@link SCRAPE_GAUGES} each (a
 *   name, a help text, label names and a function returning the samples). Adding a series is adding
 *   an entry.
 * - **counters fed by the request path**: `observeRequest()` is called once per finished request
 *   with its {@link RequestRecord} (the same record `onRequest` gets); add counters there.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CompleteStateStore } from '@shunt/core';
import type { RequestRecord } from './proxy.js';
import type { StateBackend } from './state.js';
import type { TraceRecorder } from './recorder.js';

/** What the scrape-time gauges read. */
export interface MetricsSource {
  /** The account names, in config order. */
  readonly accounts: readonly { readonly name: string }[];
  readonly store: CompleteStateStore;
  readonly state: StateBackend;
  /** The trace recorder, when the proxy records one. */
  readonly recorder?: Pick<TraceRecorder, 'stats'> | null | undefined;
}

/** One sample: label values and the value. */
export type Sample = readonly [labels: Readonly<Record<string, string>>, value: number];

/** A gauge computed from the store at every scrape. */
export interface ScrapeGauge {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  /** The samples at this instant (`nowMs` is the store's clock). */
  samples(source: MetricsSource, nowMs: number): Iterable<Sample>;
}

const WINDOWS = [
  { window: '5h', utilization: (s: CompleteStateStore, n: string) => s.utilization5h(n), reset: (s: CompleteStateStore, n: string) => s.reset5hSecs(n) },
  { window: '7d', utilization: (s: CompleteStateStore, n: string) => s.utilization7d(n), reset: (s: CompleteStateStore, n: string) => s.reset7dSecs(n) },
] as const;

/** Every scrape-time gauge, in the order they are exposed. */
export const SCRAPE_GAUGES: readonly ScrapeGauge[] = [
  {
    name: 'shunt_state_backend_up',
    help: 'Whether the state backend is healthy: Redis reachable (redis), the state file writable (memory). 1 or 0.',
    labelNames: ['backend'],
    *samples({ state }) {
      yield [{ backend: state.kind }, state.up() ? 1 : 0];
    },
  },
  {
    name: 'shunt_trace_recording_up',
    help: 'Whether trace recording is writing: 1, or 0 while writes fail and rows are dropped. Absent when not recording.',
    labelNames: [],
    *samples({ recorder }) {
      if (recorder != null) yield [{}, recorder.stats().lastError === null ? 1 : 0];
    },
  },
  {
    name: 'shunt_trace_rows_recorded',
    help: 'Trace rows accepted for the recording since the start. Absent when not recording.',
    labelNames: [],
    *samples({ recorder }) {
      if (recorder != null) yield [{}, recorder.stats().rows];
    },
  },
  {
    name: 'shunt_trace_rows_dropped',
    help: 'Trace rows lost since the start (a failing disk, or one that cannot keep up). Absent when not recording.',
    labelNames: [],
    *samples({ recorder }) {
      if (recorder != null) yield [{}, recorder.stats().dropped];
    },
  },
  {
    name: 'shunt_state_backend_degraded_seconds',
    help: 'How long the Redis backend has been unreachable or hung (the proxy routes from its local replica meanwhile); 0 while it answers. Redis backend only.',
    labelNames: ['backend'],
    *samples({ state }, nowMs) {
      const s = state.status();
      if (s.backend === 'redis') yield [{ backend: 'redis' }, s.degraded_since_ms === null ? 0 : Math.max(0, nowMs - s.degraded_since_ms) / 1000];
    },
  },
  {
    name: 'shunt_state_backend_pending_writes',
    help: 'Local state changes not yet acknowledged by Redis (held while it is away, or briefly batched). Redis backend only.',
    labelNames: ['backend'],
    *samples({ state }) {
      const s = state.status();
      if (s.backend === 'redis') yield [{ backend: 'redis' }, s.pending_writes];
    },
  },
  {
    name: 'shunt_account_utilization',
    help: 'Utilization of the account\'s rate-limit window (0..1) as last reported by the API; 0 when unknown or reset.',
    labelNames: ['account', 'window'],
    *samples({ accounts, store }) {
      for (const { name } of accounts) for (const w of WINDOWS) yield [{ account: name, window: w.window }, w.utilization(store, name)];
    },
  },
  {
    name: 'shunt_account_reset_seconds',
    help: 'Seconds until the account\'s rate-limit window resets; absent when unknown or already past.',
    labelNames: ['account', 'window'],
    *samples({ accounts, store }, nowMs) {
      for (const { name } of accounts) {
        for (const w of WINDOWS) {
          const reset = w.reset(store, name);
          if (reset !== null) yield [{ account: name, window: w.window }, Math.max(0, reset - nowMs / 1000)];
        }
      }
    },
  },
  {
    name: 'shunt_account_cooldown_seconds',
    help: 'Seconds left of the account\'s cooldown (after a 429, 529, 5xx…); 0 when not cooling.',
    labelNames: ['account'],
    *samples({ accounts, store }, nowMs) {
      for (const { name } of accounts) {
        const until = store.cooldownUntilMs(name);
        yield [{ account: name }, until === null ? 0 : Math.max(0, (until - nowMs) / 1000)];
      }
    },
  },
  {
    name: 'shunt_account_available',
    help: 'Whether a request could be routed to the account now (not disabled, cooling or exhausted). 1 or 0.',
    labelNames: ['account'],
    *samples({ accounts, store }) {
      for (const { name } of accounts) {
        const available = store.disabledReason(name) === null && store.isAvailable(name) && !store.isExhausted(name);
        yield [{ account: name }, available ? 1 : 0];
      }
    },
  },
];

/** A proxy's metrics. */
export interface ProxyMetrics {
  /** The proxy's own registry (add series to it if you embed the proxy). */
  readonly registry: Registry;
  /** Count one finished request (called by the proxy with its record's account, outcome, attempts and hold). */
  observeRequest(record: Pick<RequestRecord, 'account' | 'outcome' | 'attempts' | 'heldMs'>): void;
  /** Time one upstream attempt: from sending the request to its response headers (or the transport error). */
  observeUpstream(account: string, latencyMs: number): void;
  /** The exposition, in Prometheus text format. */
  render(): Promise<{ readonly contentType: string; readonly body: string }>;
}

/** Create the metrics of one proxy. */
export function createMetrics(source: MetricsSource): ProxyMetrics {
  const registry = new Registry();
  for (const def of SCRAPE_GAUGES) {
    new Gauge({
      name: def.name,
      help: def.help,
      labelNames: [...def.labelNames],
      registers: [registry],
      collect() {
        this.reset();
        for (const [labels, value] of def.samples(source, source.store.now())) this.set(labels, value);
      },
    });
  }

  // Every request counts here, so the request path adds to a plain tally (account, then outcome) and
  // prom-client gets the sums when it is read: its own `inc` builds and hashes the label set on
  // every call.
  const finished = new Map<string, Map<string, number>>();
  const requests = new Counter({
    name: 'shunt_requests_total',
    help: 'Finished requests by the account that answered ("none" when the proxy answered itself) and outcome (served, failed_over_out, spent, rejected, client_gone, stream_failed).',
    labelNames: ['account', 'outcome'],
    registers: [registry],
    collect() {
      for (const [account, byOutcome] of finished) for (const [outcome, n] of byOutcome) this.inc({ account, outcome }, n);
      finished.clear();
    },
  });
  // A reset (`registry.resetMetrics()`) must also drop what has not been handed over yet.
  const resetRequests = requests.reset.bind(requests);
  requests.reset = () => {
    finished.clear();
    resetRequests();
  };
  const failovers = new Counter({
    name: 'shunt_failovers_total',
    help: 'Upstream attempts that failed over to another account, by the account left and why (window_exhausted, retry_after, rate_limited, overloaded, server_error, transport_error, stream_error, …).',
    labelNames: ['account', 'reason'],
    registers: [registry],
  });

  const holds = new Counter({
    name: 'shunt_holds_total',
    help: 'Requests that were held because no account was eligible, whatever happened next (served after the hold, or 429 past the limit).',
    registers: [registry],
  });
  const holdSeconds = new Histogram({
    name: 'shunt_hold_seconds',
    help: 'How long held requests waited for an account to come back.',
    buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600],
    registers: [registry],
  });
  const upstreamLatency = histogramByLabel(registry, {
    name: 'shunt_upstream_latency_seconds',
    help: 'Time from sending a request upstream to its response headers (time to first byte for a stream), by account.',
    labelName: 'account',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  });

  return {
    registry,
    observeUpstream(account, latencyMs) {
      upstreamLatency.observe(account, Math.max(0, latencyMs) / 1000);
    },
    observeRequest(record) {
      const account = record.account ?? 'none';
      let byOutcome = finished.get(account);
      if (byOutcome === undefined) finished.set(account, (byOutcome = new Map()));
      byOutcome.set(record.outcome, (byOutcome.get(record.outcome) ?? 0) + 1);
      if (record.heldMs > 0) {
        holds.inc();
        holdSeconds.observe(record.heldMs / 1000);
      }
      for (const attempt of record.attempts) {
        if (attempt.action === 'failover') failovers.inc({ account: attempt.account, reason: attempt.failover ?? 'unknown' });
      }
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

/** One series of {@link histogramByLabel}: cumulative-ready bucket counts, the sum and the count. */
interface HistogramSeries {
  readonly counts: number[];
  sum: number;
  count: number;
}

/**
 * A histogram with one label, registered on `registry`, whose `observe` is a bucket search and three
 * additions. prom-client's `Histogram#observe` makes a closure and builds and hashes the label set
 * on every call (about a microsecond, on every upstream attempt); this one renders the same series
 * through the same registry (`_bucket` with `le`, then `_sum` and `_count`, per label value).
 */
function histogramByLabel(
  registry: Registry,
  options: { readonly name: string; readonly help: string; readonly labelName: string; readonly buckets: readonly number[] },
): { observe(labelValue: string, value: number): void } {
  const { name, help, labelName, buckets } = options;
  const series = new Map<string, HistogramSeries>();
  const values = (): Array<{ labels: Record<string, string | number>; value: number; metricName: string }> => {
    const out: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    for (const [labelValue, s] of series) {
      let cumulative = 0;
      for (let k = 0; k < buckets.length; k++) {
        cumulative += s.counts[k] as number;
        out.push({ labels: { le: buckets[k] as number, [labelName]: labelValue }, value: cumulative, metricName: `${name}_bucket` });
      }
      out.push({ labels: { le: '+Inf', [labelName]: labelValue }, value: s.count, metricName: `${name}_bucket` });
      out.push({ labels: { [labelName]: labelValue }, value: s.sum, metricName: `${name}_sum` });
      out.push({ labels: { [labelName]: labelValue }, value: s.count, metricName: `${name}_count` });
    }
    return out;
  };
  // The shape a registry reads (prom-client's Metric: name, help, type, aggregator, get, reset).
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: async () => ({ name, help, type: 'histogram', aggregator: 'sum', values: values() }),
    reset: () => series.clear(),
  };
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
  return {
    observe(labelValue, value) {
      let s = series.get(labelValue);
      if (s === undefined) series.set(labelValue, (s = { counts: buckets.map(() => 0), sum: 0, count: 0 }));
      // A value above the last bound counts only in +Inf (the count).
      let k = 0;
      while (k < buckets.length && value > (buckets[k] as number)) k++;
      if (k < buckets.length) s.counts[k] = (s.counts[k] as number) + 1;
      s.sum += value;
      s.count += 1;
    },
  };
}
