/**
 * Shared fast-check arbitraries for @shunt/core's domain: account names, rate-limit records and
 * the header shapes they arrive in. Everything time-related is relative to a given `nowMs`, so the
 * values land on both sides of "now" and exercise the reset boundaries.
 */
import fc from 'fast-check';
import type { HeaderSource, RateLimitInfo, WindowStatus } from '../src/rate-limits.js';

/** A fixed instant for tests: 2026-01-01T00:00:00Z, in epoch milliseconds. */
export const T0_MS: number = Date.UTC(2026, 0, 1);

/** A small alphabet of account names, so that generated operations collide on the same account. */
export const ACCOUNT_NAMES: readonly string[] = ['work', 'personal', 'team'];

/** One of {@link ACCOUNT_NAMES}. */
export const arbAccountName: fc.Arbitrary<string> = fc.constantFrom(...ACCOUNT_NAMES);

/** Every window status Anthropic sends, the seed's synthetic `exhausted`, and an unknown one. */
export const arbWindowStatus: fc.Arbitrary<WindowStatus> = fc.constantFrom(
  'allowed',
  'allowed_warning',
  'rejected',
  'exhausted',
  'something_new',
);

/** Utilization as Anthropic reports it: mostly 0..1, sometimes over 1 (seen: 1.01). */
export const arbUtilization: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, 0.5, 0.9, 1, 1.01),
  // `+ 0` turns -0 into 0: -0 does not survive a trip through a header string.
  fc.double({ min: 0, max: 1.5, noNaN: true }).map((v) => v + 0),
);

/**
 * A reset in epoch seconds around `nowMs`: from an hour ago to eight days ahead, with the exact
 * second of `nowMs` (and its neighbours) over-represented because that is where the bugs live.
 */
export function arbResetSecs(nowMs: number): fc.Arbitrary<number> {
  const nowSecs = Math.floor(nowMs / 1000);
  return fc.oneof(
    fc.constantFrom(nowSecs - 1, nowSecs, nowSecs + 1),
    fc.integer({ min: nowSecs - 3600, max: nowSecs + 8 * 86_400 }),
  );
}

/** A rate-limit record as {@link parseRateLimitHeaders} could produce it at `nowMs` (any subset of fields). */
export function arbRateLimitInfo(nowMs: number): fc.Arbitrary<RateLimitInfo> {
  return fc.record(
    {
      utilization5h: arbUtilization,
      reset5hSecs: arbResetSecs(nowMs),
      status5h: arbWindowStatus,
      utilization7d: arbUtilization,
      reset7dSecs: arbResetSecs(nowMs),
      status7d: arbWindowStatus,
      overageStatus: fc.constantFrom('allowed', 'rejected'),
      overageDisabledReason: fc.constantFrom('org_level_disabled', 'out_of_credits'),
      representativeClaim: fc.constantFrom('five_hour', 'seven_day'),
      updatedMs: fc.constant(nowMs),
    },
    { requiredKeys: ['updatedMs'] },
  ).map((info) => ({ ...info })); // fc.record builds null-prototype objects; parsers return plain ones
}

/** The `anthropic-ratelimit-unified-*` headers that say what `info` says (`updatedMs` aside). */
export function rateLimitHeadersOf(info: RateLimitInfo): Record<string, string> {
  const headers: Record<string, string> = {};
  const put = (suffix: string, value: number | string | undefined): void => {
    if (value !== undefined) headers[`anthropic-ratelimit-unified-${suffix}`] = String(value);
  };
  put('5h-utilization', info.utilization5h);
  put('5h-reset', info.reset5hSecs);
  put('5h-status', info.status5h);
  put('7d-utilization', info.utilization7d);
  put('7d-reset', info.reset7dSecs);
  put('7d-status', info.status7d);
  put('overage-status', info.overageStatus);
  put('overage-disabled-reason', info.overageDisabledReason);
  put('representative-claim', info.representativeClaim);
  return headers;
}

/** Every header name the parser or the failover policy reads, plus ones they must ignore. */
export const KNOWN_HEADER_NAMES: readonly string[] = [
  'anthropic-ratelimit-unified-5h-utilization',
  'anthropic-ratelimit-unified-5h-reset',
  'anthropic-ratelimit-unified-5h-status',
  'anthropic-ratelimit-unified-7d-utilization',
  'anthropic-ratelimit-unified-7d-reset',
  'anthropic-ratelimit-unified-7d-status',
  'anthropic-ratelimit-unified-7d_oi-utilization',
  'anthropic-ratelimit-unified-overage-status',
  'anthropic-ratelimit-unified-overage-disabled-reason',
  'anthropic-ratelimit-unified-representative-claim',
  'anthropic-ratelimit-unified-status',
  'anthropic-ratelimit-unified-reset',
  'x-ratelimit-remaining-tokens',
  'retry-after',
  'retry-after-ms',
  'x-should-retry',
];

/** A header value that is sometimes well-formed and often not. */
export const arbHeaderValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', ' ', '0', '1', '0.5', '1.01', '-1', '1e400', '9e307', 'NaN', 'true', 'rejected', '0x10'),
  fc.constantFrom('Thu, 01 Jan 2026 00:00:30 GMT', 'Wed, 31 Dec 2025 23:59:00 GMT', 'Mon, 99 Foo 2026 25:61:61 GMT'),
  fc.integer({ min: 0, max: 2_000_000_000 }).map(String),
  fc.double({ noNaN: false }).map(String),
  fc.string(),
);

/** A header name: usually one the code reads (in random case), sometimes anything at all. */
export const arbHeaderName: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...KNOWN_HEADER_NAMES).chain(arbCaseOf) },
  { weight: 1, arbitrary: fc.string() },
);

/** Headers as a plain record: arbitrary names (mostly relevant ones) and values, single or repeated. */
export const arbHeaderRecord: fc.Arbitrary<Record<string, string | string[]>> = fc.dictionary(
  arbHeaderName,
  fc.oneof({ weight: 4, arbitrary: arbHeaderValue }, { weight: 1, arbitrary: fc.array(arbHeaderValue, { maxLength: 3 }) }),
  { maxKeys: 12 },
);

/**
 * The same headers in every shape a caller may hand over: a fetch `Headers`, a plain record as
 * given, and a Node-style record (lower-case names, repeated values as arrays). Only names and
 * values that fetch accepts go into the `Headers` form.
 */
export function headerShapes(record: Readonly<Record<string, string>>): Array<{ readonly shape: string; readonly headers: HeaderSource }> {
  const lower: Record<string, string> = {};
  for (const [name, value] of Object.entries(record)) lower[name.toLowerCase()] = value;
  return [
    { shape: 'fetch Headers', headers: new Headers(record) },
    { shape: 'plain record', headers: { ...record } },
    { shape: 'Node-style lower-case record', headers: lower },
  ];
}

/** An HTTP status: mostly the ones the policy distinguishes, sometimes any integer (even nonsense). */
export const arbStatus: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(100, 200, 201, 204, 301, 304, 400, 401, 403, 404, 413, 429, 500, 501, 502, 503, 504, 529),
  fc.integer({ min: 100, max: 599 }),
  fc.integer(),
);

function arbCaseOf(name: string): fc.Arbitrary<string> {
  return fc
    .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
    .map((upper) => [...name].map((c, i) => (upper[i] === true ? c.toUpperCase() : c)).join(''));
}
