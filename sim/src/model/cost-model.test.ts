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

  it('should not charge a request with what a window held before it opened', () => {
    const assigner = createCostAssigner({ mode: 'deltas', recordedCapacity: () => ({ window5hCredits: 100, window7dCredits: 1_000 }) });
    // The window opened 100 s before this request (by a request whose row carried no reading):
    // its 0.3 is not this request's.
    const late = assigner.assign(request([{ tsMs: T0 + 100_000, account: 'a', status: 200, utilization5h: 0.3, reset5hSecs: (T0 + 18_000_000) / 1000 }]));
    expect(late.credits5h).toBe(DEFAULT_REQUEST_CREDITS.sonnet);
    // Opened by this very request (the reset lands within a couple of seconds of ts + 5 h): all of it.
    const own = assigner.assign(request([{ tsMs: T0 + 40_000_000, account: 'b', status: 200, utilization5h: 0.03, reset5hSecs: (T0 + 58_001_000) / 1000 }]));
    expect(own.credits5h).toBeCloseTo(3);
  });

  it('should estimate a request that was never served from its conversation, never as 0', () => {
    const assigner = createCostAssigner({ mode: 'tokens' });
    const opus = 'claude-opus-4-5';
    const turn = (cacheRead: number, cacheCreation: number, tsMs: number): TraceRequest =>
      request([{ tsMs, status: 200 }], { session: 's', model: opus, tokens: { input: 10, output: 200, cacheRead, cacheCreation } });
    assigner.assign(turn(0, 20_000, T0));
    assigner.assign(turn(20_000, 2_000, T0 + 60_000));
    // Refused everywhere (its 429 row carried 0 tokens, so the request has none).
    const refused = assigner.assign(request([{ tsMs: T0 + 120_000, account: 'a', status: 429 }], { session: 's', model: opus }));
    // Its prefix is the conversation's prompt so far (22,000 tokens), read where the cache lives…
    expect(refused.credits5h).toBeGreaterThan(22_000 * DEFAULT_TOKEN_WEIGHTS.opus.cacheRead);
    // …and written again elsewhere.
    expect(refused.cacheMissCredits).toBeCloseTo(22_000 * (DEFAULT_TOKEN_WEIGHTS.opus.cacheCreation - DEFAULT_TOKEN_WEIGHTS.opus.cacheRead));
    expect(assigner.fallbacks).toBe(1);
  });

  it('should compact a chain of estimated turns where the trace shows its family compacting, and restart it where they fall to', () => {
    const assigner = createCostAssigner({ mode: 'tokens' });
    const w = DEFAULT_TOKEN_WEIGHTS.sonnet;
    let tsMs = T0;
    const served = (session: string, cacheRead: number, cacheCreation: number): void => {
      assigner.assign(request([{ tsMs, status: 200 }], { session, tokens: { input: 10, output: 200, cacheRead, cacheCreation } }));
      tsMs += 1_000;
    };
    // One conversation grows by 10,000 tokens a turn to 160,000, then compacts: its next prompt is
    // 26,000 (14,000 of them the cached system prompt).
    served('long', 0, 20_000);
    for (let prompt = 30_000; prompt <= 160_000; prompt += 10_000) served('long', prompt - 10_000, 10_000);
    served('long', 14_000, 12_000);
    // Another starts at 20,000 and is never served again: every turn is estimated.
    served('other', 0, 20_000);
    const reads: number[] = [];
    for (let turn = 0; turn < 30; turn++) {
      const cost = assigner.assign(request([{ tsMs, status: 429 }], { session: 'other' }));
      tsMs += 1_000;
      reads.push(cost.cacheMissCredits / (w.cacheCreation - w.cacheRead));
    }
    // A turn adds the family's ~10,000 new tokens; the compacting turn's prompt is ~160,000, on
    // average half a turn past where the chain compacts…
    const fresh = (14 * 10_000 + 12_000) / 15;
    const fall = reads.findIndex((read, i) => i > 0 && read < (reads[i - 1] as number));
    expect(fall).toBeGreaterThan(0);
    expect(reads[fall - 1] as number).toBeLessThanOrEqual(160_000 - fresh / 2);
    expect((reads[fall - 1] as number) + fresh).toBeGreaterThan(160_000 - fresh / 2);
    // …and the turn after it reads a prefix that, with its new tokens, is the 26,000 seen after a fall.
    expect((reads[fall] as number) + fresh).toBeCloseTo(26_000, 6);
  });

  describe('conversations that started together (parallel sub-agents) and alone', () => {
    const w = DEFAULT_TOKEN_WEIGHTS.sonnet;
    const typical = 10 * w.input + 200 * w.output;
    /** `count` served conversations of two turns: a first prompt of `first` tokens, then `turn` more. */
    function serve(assigner: ReturnType<typeof createCostAssigner>, name: string, count: number, startedWith: number, first: number, turn: number): void {
      for (let c = 0; c < count; c++) {
        const session = `${name}${c}`;
        const at = T0 + c * 60_000;
        assigner.assign(request([{ tsMs: at, status: 200 }], { session, startedWith, arrivalMs: at, tokens: { input: 10, output: 200, cacheRead: 0, cacheCreation: first } }));
        assigner.assign(request([{ tsMs: at + 5_000, status: 200 }], { session, startedWith, arrivalMs: at + 5_000, tokens: { input: 10, output: 200, cacheRead: first, cacheCreation: turn } }));
      }
    }
    /** A never-served conversation's first two turns: the new tokens of the first, and the prefix and new tokens of the second. */
    function estimate(assigner: ReturnType<typeof createCostAssigner>, session: string, startedWith: number): { first: number; prefix: number; fresh: number } {
      const at = T0 + 3_600_000;
      const first = assigner.assign(request([{ tsMs: at, status: 429 }], { session, startedWith, arrivalMs: at }));
      const second = assigner.assign(request([{ tsMs: at + 5_000, status: 429 }], { session, startedWith, arrivalMs: at + 5_000 }));
      const prefix = second.cacheMissCredits / (w.cacheCreation - w.cacheRead);
      return { first: (first.credits5h - typical) / w.cacheCreation, prefix, fresh: (second.credits5h - typical - prefix * w.cacheRead) / w.cacheCreation };
    }

    it("should estimate each kind's unseen conversations from its own kind's first prompt and growth per turn", () => {
      const assigner = createCostAssigner({ mode: 'tokens' });
      // A person's conversations start at 20,000 tokens and add 5,000 a turn; sub-agents start at 15,000 and add 1,000.
      serve(assigner, 'main', 12, 0, 20_000, 5_000);
      serve(assigner, 'agent', 12, 3, 15_000, 1_000);
      const agent = estimate(assigner, 'new-agent', 2);
      expect(agent.first).toBeCloseTo(15_000, 6);
      expect(agent.prefix).toBeCloseTo(15_000, 6);
      expect(agent.fresh).toBeCloseTo(1_000, 6);
      const main = estimate(assigner, 'new-main', 0);
      expect(main.first).toBeCloseTo(20_000, 6);
      expect(main.prefix).toBeCloseTo(20_000, 6);
      expect(main.fresh).toBeCloseTo(5_000, 6);
    });

    it("should estimate a kind with too few served conversations from its family's, both kinds together", () => {
      const assigner = createCostAssigner({ mode: 'tokens' });
      serve(assigner, 'main', 12, 0, 20_000, 5_000);
      serve(assigner, 'agent', 3, 3, 15_000, 1_000);
      const agent = estimate(assigner, 'new-agent', 1);
      expect(agent.first).toBeCloseTo((12 * 20_000 + 3 * 15_000) / 15, 6);
      expect(agent.fresh).toBeCloseTo((12 * 5_000 + 3 * 1_000) / 15, 6);
    });
  });

  it('should split a recorded cache miss into the prefix a live cache would serve and what is new', () => {
    const assigner = createCostAssigner({ mode: 'tokens' });
    const w = DEFAULT_TOKEN_WEIGHTS.sonnet;
    assigner.assign(request([{ tsMs: T0, status: 200 }], { session: 's', tokens: { input: 0, output: 0, cacheRead: 0, cacheCreation: 10_000 } }));
    // Recorded on another account: nothing read, 13,000 written. 10,000 of them were the prefix.
    const moved = assigner.assign(request([{ tsMs: T0 + 1_000, status: 200 }], { session: 's', tokens: { input: 0, output: 0, cacheRead: 0, cacheCreation: 13_000 } }));
    expect(moved.credits5h).toBeCloseTo(10_000 * w.cacheRead + 3_000 * w.cacheCreation);
    expect(moved.credits5h + moved.cacheMissCredits).toBeCloseTo(13_000 * w.cacheCreation);
    expect(moved.cacheTtlMs).toBe(300_000);
    // 1-hour writes: priced as such, and the conversation's cache lives an hour.
    const long = assigner.assign(
      request([{ tsMs: T0 + 2_000, status: 200 }], { session: 'l', tokens: { input: 0, output: 0, cacheRead: 0, cacheCreation: 1_000, cacheCreation1h: 1_000 } }),
    );
    expect(long.credits5h).toBeCloseTo(1_000 * w.cacheCreation1h);
    expect(long.cacheTtlMs).toBe(3_600_000);
  });
});

describe('estimate error', () => {
  /** `count` conversations of three served turns (first prompts alternating `sizes`), then one never served. */
  function run(count: number, sizes: readonly number[]): ReturnType<typeof createCostAssigner> {
    const assigner = createCostAssigner({ mode: 'tokens' });
    for (let c = 0; c < count; c++) {
      const size = sizes[c % sizes.length] as number;
      for (let turn = 0; turn < 3; turn++) {
        const tokens = { input: 10, output: 200, cacheRead: turn === 0 ? 0 : size + (turn - 1) * 2_000, cacheCreation: turn === 0 ? size : 2_000 };
        assigner.assign(request([{ status: 200, model: 'claude-sonnet-4-5' }], { session: `c${c}`, model: 'claude-sonnet-4-5', tokens, arrivalMs: T0 + c * 60_000 + turn }));
      }
    }
    expect(assigner.estimateError).toBe(0);
    assigner.assign(request([{ status: 429, model: 'claude-sonnet-4-5' }], { session: 'c0', model: 'claude-sonnet-4-5', arrivalMs: T0 + count * 60_000 }));
    return assigner;
  }

  it('should measure the estimator on served conversations, and grow with how unlike each other they are', () => {
    const alike = run(20, [20_000]).estimateError;
    const unlike = run(20, [5_000, 35_000]).estimateError;
    expect(alike).toBeGreaterThanOrEqual(0);
    expect(unlike).toBeGreaterThan(alike + 0.001);
    // One estimated request among 61: far below the whole credits' error.
    expect(unlike).toBeLessThan(0.05);
  });

  it('should assume the estimator off by half with fewer than 30 served turns to measure it on', () => {
    // Five conversations of 3 turns (the first of each written whole), then one estimated turn.
    const turn = (cacheRead: number, cacheCreation: number): number => 10 * 3e-6 + 200 * 15e-6 + cacheRead * 0.3e-6 + cacheCreation * 3.75e-6;
    const served = 5 * (turn(0, 20_000) + turn(20_000, 2_000) + turn(22_000, 2_000));
    const assigner = run(5, [20_000]);
    const estimated = assigner.estimateError / 0.5;
    // estimated share = e / (served + e), so e = served · share / (1 − share): a plausible turn.
    const credits = (served * estimated) / (1 - estimated);
    expect(credits).toBeGreaterThan(turn(20_000, 0));
    expect(credits).toBeLessThan(turn(30_000, 5_000));
    expect(createCostAssigner({ mode: 'flat' }).estimateError).toBeNaN();
  });
});
