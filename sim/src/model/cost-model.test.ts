import { describe, expect, it } from 'vitest';
import type { TraceRequest } from '../trace/assemble.js';
import type { ReadRow } from '../trace/reader.js';
import { createCostAssigner, detectCostModel } from './cost-model.js';
import { DEFAULT_REQUEST_CREDITS, DEFAULT_TOKEN_WEIGHTS, modelFamily, tokenCredits } from './costs.js';

const T0 = Date.UTC(2026, 0, 5, 9);
let seq = 0;

function request(rows: Array<Partial<ReadRow>>, extra: Partial<TraceRequest> = {}): TraceRequest {
  const attempts = rows.map((r, i) => ({ recordIndex: i, tsMs: T0, ...r }));
  return { seq: seq++, arrivalMs: attempts[0]?.tsMs ?? T0, session: null, model: null, tokens: null, attempts, ...extra };
}

describe('costs', () => {
  it('should price tokens at API list price by family', () => {
    const tokens = { input: 1_000_000, output: 1_000_000, cacheRead: 1_000_000, cacheCreation: 1_000_000 };
    expect(tokenCredits(tokens, 'opus')).toBeCloseTo(5 + 25 + 0.5 + 6.25);
    expect(tokenCredits(tokens, 'sonnet', DEFAULT_TOKEN_WEIGHTS)).toBeCloseTo(3 + 15 + 0.3 + 3.75);
    expect(modelFamily('claude-3-5-haiku-latest')).toBe('haiku');
    expect(modelFamily('claude-opus-4-1')).toBe('opus');
    expect(modelFamily('gpt-5')).toBe('sonnet');
    expect(modelFamily(null)).toBe('sonnet');
  });
});

describe('detectCostModel', () => {
  it('should choose the richest model the columns support', () => {
    expect(detectCostModel(new Set(['ts', 'input_tokens', 'util_5h']), true)).toBe('calibrated');
    expect(detectCostModel(new Set(['ts', 'input_tokens', 'util_5h']), false)).toBe('tokens');
    expect(detectCostModel(new Set(['ts', 'util_5h']), true)).toBe('deltas');
    expect(detectCostModel(new Set(['ts']), true)).toBe('flat');
  });
});

describe('createCostAssigner', () => {
  it('should derive costs from utilization deltas on the recorded account', () => {
    const assigner = createCostAssigner({
      mode: 'deltas',
      recordedCapacity: () => ({ window5hCredits: 100, window7dCredits: 1_000 }),
    });
    const reset5hSecs = (T0 + 18_000_000) / 1000;
    const reset7dSecs = (T0 + 86_400_000) / 1000;
    // The first request opened the 5-hour window: all of it is its own; the weekly one cannot be told.
    const first = assigner.assign(
      request([{ tsMs: T0, account: 'a', status: 200, utilization5h: 0.02, reset5hSecs: reset5hSecs, utilization7d: 0.5, reset7dSecs: reset7dSecs }]),
    );
    expect(first.credits5h).toBeCloseTo(2);
    expect(first.credits7d).toBe(DEFAULT_REQUEST_CREDITS.sonnet);
    const second = assigner.assign(
      request([{ tsMs: T0 + 1_000, account: 'a', status: 200, utilization5h: 0.05, reset5hSecs: reset5hSecs + 1, utilization7d: 0.503, reset7dSecs: reset7dSecs }]),
    );
    expect(second.credits5h).toBeCloseTo(3);
    expect(second.credits7d).toBeCloseTo(3);
    // A 429 attempt costs nothing; its successful retry on another account is priced there.
    const retried = assigner.assign(
      request([
        { tsMs: T0 + 2_000, account: 'a', status: 429, utilization5h: 0.05, reset5hSecs: reset5hSecs },
        { tsMs: T0 + 2_300, account: 'b', status: 200, utilization5h: 0.01, reset5hSecs: (T0 + 2_300 + 18_000_000) / 1000 },
      ]),
    );
    expect(retried.credits5h).toBeCloseTo(1);
    expect(assigner.fallbacks).toBe(2);
  });

  it('should price requests without tokens by the running mean of their family', () => {
    const assigner = createCostAssigner({ mode: 'tokens' });
    const priced = assigner.assign(request([{}], { model: 'claude-opus-4-5', tokens: { input: 0, output: 40_000, cacheRead: 0, cacheCreation: 0 } }));
    expect(priced.credits5h).toBeCloseTo(1);
    expect(assigner.assign(request([{}], { model: 'claude-opus-4-5' })).credits5h).toBeCloseTo(1);
    expect(assigner.assign(request([{}], { model: 'claude-haiku-4-5' })).credits5h).toBe(DEFAULT_REQUEST_CREDITS.haiku);
    expect(assigner.fallbacks).toBe(2);
  });
});
