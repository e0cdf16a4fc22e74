/**
 * @module
 * Which cost model a trace supports, and the assigner that prices each request (in credits,
 * independent of the account, so the cost moves with the request when a strategy routes it
 * elsewhere; each account divides it by its own capacity).
 *
 * - `calibrated`: tokens × fitted weights (the trace has tokens and utilization).
 * - `tokens`: tokens × API-price weights (tokens, but no utilization to fit against).
 * - `deltas`: the utilization change the request caused on its recorded account, times that
 *   account's capacity (utilization, but no tokens).
 * - `flat`: a documented typical cost per model family (neither).
 */
import type { TraceRequest } from '../trace/assemble.js';
import { DEFAULT_REQUEST_CREDITS, DEFAULT_TOKEN_WEIGHTS, MODEL_FAMILIES, modelFamily, type ModelFamily, type TokenWeights } from './costs.js';
import type { Capacity } from './plans.js';

/** A cost model's name. */
export type CostModelMode = 'calibrated' | 'tokens' | 'deltas' | 'flat';

/** Every mode, for `--cost-model`. */
export const COST_MODEL_MODES: readonly CostModelMode[] = ['calibrated', 'tokens', 'deltas', 'flat'];

/** What one request costs, in credits. */
export interface RequestCost {
  /** Against a 5-hour window, when its conversation's prompt cache is live on the account. */
  readonly credits5h: number;
  /** Against a weekly window, likewise. */
  readonly credits7d: number;
  /** Extra credits when it lands on an account without its conversation's cache (its prefix is written, not read). */
  readonly cacheMissCredits: number;
  /** How long the conversation's cache lives after a request, ms (5 minutes, or 1 hour where the trace shows 1-hour writes). */
  readonly cacheTtlMs: number;
}

/** Anthropic's default prompt-cache lifetime. */
export const CACHE_TTL_5M_MS = 5 * 60_000;
/** The extended prompt-cache lifetime (`cache_control: { ttl: "1h" }`). */
export const CACHE_TTL_1H_MS = 60 * 60_000;

/** Prices requests one by one, in replay order (the `deltas` mode remembers each account's last reading). */
export interface CostAssigner {
  /** The mode in force. */
  readonly mode: CostModelMode;
  /** Price one request. */
  assign(request: TraceRequest): RequestCost;
  /** Requests priced by a fallback or an estimate (no tokens, or no usable utilization change). */
  readonly fallbacks: number;
  /**
   * How far estimates may be from the truth, as far as the trace can tell, relative to all credits
   * priced: the share of credits that were estimated times the estimator's error on served
   * conversations (each priced as a chain of estimates from its start, each conversation's error
   * counted whole). 0 when nothing was estimated; NaN before anything was priced, and in the
   * `deltas` and `flat` modes, which do not measure it.
   */
  readonly estimateError: number;
}

/** Options for {@link createCostAssigner}. */
export interface CostAssignerOptions {
  readonly mode: CostModelMode;
  /** Token weights for `tokens` and `calibrated`. @default DEFAULT_TOKEN_WEIGHTS */
  readonly weights?: TokenWeights | undefined;
  /** Capacity of a recorded account (for `deltas`), or undefined when unknown. */
  readonly recordedCapacity?: ((account: string) => Capacity | undefined) | undefined;
}

/** A change in reset larger than this means a new window (resets jitter by about a second). */
const SAME_WINDOW_MS = 600_000;
/**
 * A window whose reset is within this of "request time + window length" was opened by that
 * request: resets sit on whole seconds and jitter by about a second. Anything wider charges one
 * request with what earlier requests spent in the window.
 */
const OPENED_BY_REQUEST_MS = 5_000;
/** Conversations idle this long are forgotten by the estimator (bounded memory). */
const CONVERSATION_MEMORY_MS = 24 * 3_600_000;

/** Create an assigner for `mode`. */
export function createCostAssigner(options: CostAssignerOptions): CostAssigner {
  const weights = options.weights ?? DEFAULT_TOKEN_WEIGHTS;
  const { mode } = options;
  let fallbacks = 0;
  // Running mean of priced requests per family: the fallback for a request with nothing to go on.
  const seen = new Map<ModelFamily, { sum5h: number; sum7d: number; n: number }>(MODEL_FAMILIES.map((f) => [f, { sum5h: 0, sum7d: 0, n: 0 }]));
  const readings = new Map<string, Reading>();
  const tokenPricer = createTokenPricer(weights);

  const fallback = (family: ModelFamily, need5h: boolean, need7d: boolean, known: RequestCost | null): RequestCost => {
    fallbacks++;
    const mean = seen.get(family) as { sum5h: number; sum7d: number; n: number };
    const flat = DEFAULT_REQUEST_CREDITS[family];
    const guess5h = mean.n > 0 ? mean.sum5h / mean.n : flat;
    const guess7d = mean.n > 0 ? mean.sum7d / mean.n : flat;
    return {
      credits5h: need5h || known === null ? guess5h : known.credits5h,
      credits7d: need7d || known === null ? guess7d : known.credits7d,
      cacheMissCredits: 0,
      cacheTtlMs: CACHE_TTL_5M_MS,
    };
  };

  const learn = (family: ModelFamily, cost: RequestCost): RequestCost => {
    const mean = seen.get(family) as { sum5h: number; sum7d: number; n: number };
    mean.sum5h += cost.credits5h;
    mean.sum7d += cost.credits7d;
    mean.n++;
    return cost;
  };

  return {
    mode,
    get fallbacks() {
      return fallbacks + tokenPricer.estimated;
    },
    get estimateError() {
      return mode === 'tokens' || mode === 'calibrated' ? tokenPricer.estimateError : Number.NaN;
    },
    assign(request) {
      const family = modelFamily(request.model);
      switch (mode) {
        case 'flat': {
          const credits = DEFAULT_REQUEST_CREDITS[family];
          return { credits5h: credits, credits7d: credits, cacheMissCredits: 0, cacheTtlMs: CACHE_TTL_5M_MS };
        }
        case 'tokens':
        case 'calibrated':
          return tokenPricer.price(request, family);
        case 'deltas': {
          const cost = deltaCost(request, readings, options.recordedCapacity);
          if (cost.credits5h === null || cost.credits7d === null) {
            const known =
              cost.credits5h === null && cost.credits7d === null
                ? null
                : { credits5h: cost.credits5h ?? 0, credits7d: cost.credits7d ?? 0, cacheMissCredits: 0, cacheTtlMs: CACHE_TTL_5M_MS };
            return fallback(family, cost.credits5h === null, cost.credits7d === null, known);
          }
          return learn(family, { credits5h: cost.credits5h, credits7d: cost.credits7d, cacheMissCredits: 0, cacheTtlMs: CACHE_TTL_5M_MS });
        }
      }
    },
  };
}

/** What a conversation's last request looked like, for the next one's estimate and cache prefix. */
interface ConversationTokens {
  /** Prompt tokens cacheable after it (what the next request can read). */
  prefix: number;
  input: number;
  output: number;
  /** New cacheable tokens it wrote beyond its prefix. */
  fresh: number;
  /** The conversation writes 1-hour cache entries. */
  oneHour: boolean;
  /** `prefix` is what its last request recorded, not an estimate. */
  measured: boolean;
  /** The prefix if every turn so far had been estimated (to measure the estimator on whole chains). */
  shadowPrefix: number;
  /** Served turns' credits as a chain of estimates would price them, and as recorded. */
  shadowPredicted: number;
  shadowActual: number;
  /** Its kind, fixed when it is first seen. */
  readonly kind: ConversationKind;
}

/**
 * Conversations that started together with others (a burst of parallel sub-agents) and those that
 * started alone (a person's). Their contexts differ: a sub-agent starts from a shorter prompt and
 * adds less per turn than the conversation that spawned it.
 */
type ConversationKind = 'together' | 'alone';

/** Below this many samples a kind's context figure is too noisy: its family's (both kinds) is used. */
const MIN_KIND_SAMPLES = 10;

function conversationKind(request: TraceRequest): ConversationKind {
  return (request.startedWith ?? 0) > 0 ? 'together' : 'alone';
}

/** How a family's (or one kind of its conversations') context starts, grows and is compacted, from served requests. */
interface ContextStats {
  /** Served requests. */
  served: number;
  /**
   * New prompt tokens per turn, from recorded hits only: a recorded miss cannot tell its new
   * tokens from its prefix when the conversation's previous request is unknown.
   */
  readonly turn: { n: number; sum: number };
  /** Conversations' first requests: what an unseen conversation's first turn is estimated at. */
  readonly first: { n: number; sum: number };
  /**
   * Served turns whose prompt fell to less than half their conversation's previous one (the client
   * compacted the context, or started it over): the prompt before the fall and after it.
   */
  readonly fall: { n: number; before: number; after: number };
  /** The longest prompt seen: a chain of estimated turns grows no further (clients compact). */
  longest: number;
}

/** Learn from a served request whose prompt was `total` tokens, `fresh` of them new; `fallFrom` is its conversation's previous prompt when it fell to less than half of it, else NaN. */
function learnContext(stats: ContextStats, total: number, fresh: number, isFirst: boolean, fallFrom: number, hit: boolean): void {
  stats.served++;
  if (total > stats.longest) stats.longest = total;
  if (isFirst) {
    stats.first.n++;
    stats.first.sum += total;
  }
  if (!Number.isNaN(fallFrom)) {
    stats.fall.n++;
    stats.fall.before += fallFrom;
    stats.fall.after += total;
  }
  if (hit) {
    stats.turn.n++;
    stats.turn.sum += fresh;
  }
}

function newContextStats(): ContextStats {
  return { served: 0, turn: { n: 0, sum: 0 }, first: { n: 0, sum: 0 }, fall: { n: 0, before: 0, after: 0 }, longest: 0 };
}

/**
 * Prices requests from their tokens, split into what depends on routing and what does not:
 * the cacheable prefix it shares with its conversation's previous request is read when it lands
 * where that cache is live, and written otherwise. A request whose tokens are unknown (never
 * served, or empty cells) is estimated from its conversation so far and from served
 * conversations of its family and kind, else from its family's average request: never zero.
 */
function createTokenPricer(weights: TokenWeights): {
  price(request: TraceRequest, family: ModelFamily): RequestCost;
  readonly estimated: number;
  readonly estimateError: number;
} {
  let current = new Map<string, ConversationTokens>();
  let older = new Map<string, ConversationTokens>();
  let rotateAtMs = Number.NaN;
  // What one call sends and returns is the model's and the task's: averaged over the whole family.
  const means = new Map<ModelFamily, { n: number; input: number; output: number; prefix: number; fresh: number; oneHour: number }>(
    MODEL_FAMILIES.map((f) => [f, { n: 0, input: 0, output: 0, prefix: 0, fresh: 0, oneHour: 0 }]),
  );
  let estimated = 0;
  // Credits priced, and those estimated; served requests priced both ways, to measure the estimator.
  let pricedCredits = 0;
  let estimatedCredits = 0;
  // Served turns priced as a chain of estimates would price them, against what they recorded:
  // Σ over conversations of |estimated − recorded|, and Σ recorded.
  let chainAbsError = 0;
  let chainActual = 0;
  let chainCount = 0;
  // How contexts start, grow and are compacted, per family: both kinds together, and each kind.
  const contexts = new Map<ModelFamily, Record<'all' | ConversationKind, ContextStats>>(
    MODEL_FAMILIES.map((f) => [f, { all: newContextStats(), together: newContextStats(), alone: newContextStats() }]),
  );
  // The kind's own figure where it has enough samples, else its family's.
  const stat = <K extends 'turn' | 'first' | 'fall'>(family: ModelFamily, kind: ConversationKind, which: K): ContextStats[K] => {
    const of = contexts.get(family) as Record<'all' | ConversationKind, ContextStats>;
    const own = of[kind][which];
    return own.n >= MIN_KIND_SAMPLES ? own : of.all[which];
  };
  const longestOf = (family: ModelFamily, kind: ConversationKind): number => {
    const of = contexts.get(family) as Record<'all' | ConversationKind, ContextStats>;
    return of[kind].served >= MIN_KIND_SAMPLES ? of[kind].longest : of.all.longest;
  };
  // A chain of estimated turns is compacted as the trace shows its family's conversations are:
  // past the prompt they fall from, it starts again from the prompt they fall to. Without such a
  // fall in the trace, past the longest prompt the family shows, from a typical first request.
  const compacted = (prefix: number, family: ModelFamily, kind: ConversationKind): number => {
    const fall = stat(family, kind, 'fall');
    const turn = stat(family, kind, 'turn');
    if (fall.n > 0 && turn.n > 0) {
      // The turn that compacts is the first past the limit: on average half a turn's new tokens past it.
      const fresh = turn.sum / turn.n;
      if (prefix <= fall.before / fall.n - fresh / 2) return prefix;
      // The turn after a fall reads the restarted prefix and adds a turn's new tokens.
      return Math.max(0, fall.after / fall.n - fresh);
    }
    const limit = longestOf(family, kind);
    if (limit === 0 || prefix <= limit) return prefix;
    const first = stat(family, kind, 'first');
    return first.n > 0 ? first.sum / first.n : limit;
  };
  // Price a turn as the estimating branch of `price` would if the conversation had been
  // estimated from its start (NaN where it would fall back to the documented typical turn), and
  // advance the conversation's shadow prefix.
  const shadowStep = (family: ModelFamily, kind: ConversationKind, shadow: ConversationTokens | undefined): { credits: number; prefix: number } => {
    const mean = means.get(family) as { n: number; input: number; output: number; prefix: number; fresh: number; oneHour: number };
    if (mean.n === 0) return { credits: Number.NaN, prefix: 0 };
    const w = weights[family];
    const turn = stat(family, kind, 'turn');
    const first = stat(family, kind, 'first');
    const typical = (mean.input / mean.n) * w.input + (mean.output / mean.n) * w.output;
    if (shadow !== undefined) {
      const share = shadow.oneHour ? 1 : 0;
      const write = (1 - share) * w.cacheCreation + share * w.cacheCreation1h;
      const fresh = turn.n > 0 ? turn.sum / turn.n : mean.fresh / mean.n;
      return { credits: typical + shadow.shadowPrefix * w.cacheRead + fresh * write, prefix: compacted(shadow.shadowPrefix + fresh, family, kind) };
    }
    if (first.n === 0) return { credits: Number.NaN, prefix: 0 };
    const share = mean.oneHour / mean.n;
    const fresh = first.sum / first.n;
    return { credits: typical + fresh * ((1 - share) * w.cacheCreation + share * w.cacheCreation1h), prefix: fresh };
  };
  return {
    get estimated() {
      return estimated;
    },
    get estimateError() {
      if (!(pricedCredits > 0)) return Number.NaN;
      if (estimatedCredits === 0) return 0;
      // Each conversation's error counted whole, none cancelling another: never-served requests
      // are not a random sample (they come in bursts, whole sub-agent chains at a time), so the
      // bias of the served total would understate them. With too few served turns to measure
      // the estimator on, assume it is off by half.
      const error = chainCount >= 30 && chainActual > 0 ? Math.max(0, chainAbsError) / chainActual : 0.5;
      return (estimatedCredits / pricedCredits) * error;
    },
    price(request, family) {
      if (Number.isNaN(rotateAtMs)) rotateAtMs = request.arrivalMs + CONVERSATION_MEMORY_MS;
      if (request.arrivalMs >= rotateAtMs) {
        older = request.arrivalMs - rotateAtMs >= CONVERSATION_MEMORY_MS ? new Map() : current;
        current = new Map();
        rotateAtMs = request.arrivalMs + CONVERSATION_MEMORY_MS;
      }
      const session = request.session;
      let conversation = session === null ? undefined : current.get(session);
      if (session !== null && conversation === undefined) {
        conversation = older.get(session);
        if (conversation !== undefined) current.set(session, conversation);
      }
      const tokens = request.tokens;
      const kind = conversation?.kind ?? conversationKind(request);
      const shadow = session === null ? null : shadowStep(family, kind, conversation);
      let input: number;
      let output: number;
      let read: number;
      let fresh: number;
      let oneHourShare: number;
      if (tokens !== null) {
        const total = tokens.cacheRead + tokens.cacheCreation;
        // A recorded hit says exactly how much was cached; a recorded miss wrote its whole prompt,
        // of which the previous request's prompt was the part a live cache would have served.
        read = session === null || tokens.cacheRead > 0 ? tokens.cacheRead : Math.min(total, conversation?.prefix ?? 0);
        fresh = total - read;
        input = tokens.input;
        output = tokens.output;
        const write1h = tokens.cacheCreation1h ?? 0;
        oneHourShare = tokens.cacheCreation > 0 ? write1h / tokens.cacheCreation : conversation?.oneHour === true ? 1 : 0;
        if (write1h === 0 && tokens.cacheCreation === 0 && conversation?.oneHour === true) oneHourShare = 1;
        const mean = means.get(family) as { n: number; input: number; output: number; prefix: number; fresh: number; oneHour: number };
        mean.n++;
        mean.input += input;
        mean.output += output;
        mean.prefix += read;
        mean.fresh += fresh;
        mean.oneHour += oneHourShare;
        const of = contexts.get(family) as Record<'all' | ConversationKind, ContextStats>;
        const isFirst = session !== null && conversation === undefined;
        const fallFrom = conversation?.measured === true && total < conversation.prefix / 2 ? conversation.prefix : Number.NaN;
        learnContext(of.all, total, fresh, isFirst, fallFrom, tokens.cacheRead > 0);
        learnContext(of[kind], total, fresh, isFirst, fallFrom, tokens.cacheRead > 0);
      } else {
        estimated++;
        const mean = means.get(family) as { n: number; input: number; output: number; prefix: number; fresh: number; oneHour: number };
        const turn = stat(family, kind, 'turn');
        if (conversation !== undefined && mean.n > 0) {
          // The conversation's prompt so far is the prefix; a turn adds its kind's typical new
          // tokens, and the family's typical input and output.
          input = mean.input / mean.n;
          output = mean.output / mean.n;
          read = conversation.prefix;
          fresh = turn.n > 0 ? turn.sum / turn.n : mean.fresh / mean.n;
          oneHourShare = conversation.oneHour ? 1 : 0;
        } else if (conversation !== undefined) {
          input = conversation.input;
          output = conversation.output;
          read = conversation.prefix;
          fresh = conversation.fresh;
          oneHourShare = conversation.oneHour ? 1 : 0;
        } else if (session !== null && mean.n > 0 && stat(family, kind, 'first').n > 0) {
          // An unseen conversation starts here: nothing of it is cached anywhere yet.
          const first = stat(family, kind, 'first');
          input = mean.input / mean.n;
          output = mean.output / mean.n;
          read = 0;
          fresh = first.sum / first.n;
          oneHourShare = mean.oneHour / mean.n;
        } else if (mean.n > 0) {
          input = mean.input / mean.n;
          output = mean.output / mean.n;
          read = mean.prefix / mean.n;
          fresh = mean.fresh / mean.n;
          oneHourShare = mean.oneHour / mean.n;
        } else {
          // Nothing priced yet: the documented typical turn.
          const credits = DEFAULT_REQUEST_CREDITS[family];
          return { credits5h: credits, credits7d: credits, cacheMissCredits: 0, cacheTtlMs: CACHE_TTL_5M_MS };
        }
      }
      const oneHour = oneHourShare > 0 || conversation?.oneHour === true;
      const opensConversation = session !== null && conversation === undefined;
      const w = weights[family];
      const writeWeight = (1 - oneHourShare) * w.cacheCreation + oneHourShare * w.cacheCreation1h;
      const credits = input * w.input + output * w.output + read * w.cacheRead + fresh * writeWeight;
      // What it costs wherever it lands: on a new conversation's first request the prefix is written.
      const missCredits = session === null ? 0 : read * Math.max(0, writeWeight - w.cacheRead);
      const full = credits + (opensConversation ? missCredits : 0);
      pricedCredits += full;
      if (tokens === null) estimatedCredits += full;
      if (session !== null) {
        if (conversation === undefined) {
          conversation = { prefix: 0, input: 0, output: 0, fresh: 0, oneHour: false, measured: false, shadowPrefix: 0, shadowPredicted: 0, shadowActual: 0, kind };
          current.set(session, conversation);
        }
        if (shadow !== null) {
          conversation.shadowPrefix = shadow.prefix;
          if (tokens !== null && Number.isFinite(shadow.credits)) {
            chainAbsError -= Math.abs(conversation.shadowPredicted - conversation.shadowActual);
            conversation.shadowPredicted += shadow.credits;
            conversation.shadowActual += full;
            chainAbsError += Math.abs(conversation.shadowPredicted - conversation.shadowActual);
            chainActual += full;
            chainCount++;
          }
        }
        conversation.prefix = tokens === null ? compacted(read + fresh, family, kind) : read + fresh;
        conversation.measured = tokens !== null;
        conversation.input = input;
        conversation.output = output;
        conversation.fresh = fresh;
        conversation.oneHour = oneHour;
      }
      return {
        credits5h: credits,
        credits7d: credits,
        cacheMissCredits: missCredits,
        cacheTtlMs: oneHour ? CACHE_TTL_1H_MS : CACHE_TTL_5M_MS,
      };
    },
  };
}

/** An account's last utilization reading per window. */
interface Reading {
  u5?: number;
  r5?: number;
  u7?: number;
  r7?: number;
}

/** The request's cost from utilization changes on its recorded account; null where unknown. */
function deltaCost(
  request: TraceRequest,
  readings: Map<string, Reading>,
  recordedCapacity: ((account: string) => Capacity | undefined) | undefined,
): { credits5h: number | null; credits7d: number | null } {
  let credits5h: number | null = null;
  let credits7d: number | null = null;
  const rows = request.attempts.length === 1 ? request.attempts : [...request.attempts].sort((a, b) => a.tsMs - b.tsMs);
  for (const row of rows) {
    if (row.account === undefined) continue;
    let reading = readings.get(row.account);
    if (reading === undefined) {
      reading = {};
      readings.set(row.account, reading);
    }
    const success = row.status === undefined || (row.status >= 200 && row.status <= 299);
    const capacity = recordedCapacity?.(row.account);
    const d5 = step(reading.u5, reading.r5, row.utilization5h, row.reset5hSecs, row.tsMs, 18_000_000);
    const d7 = step(reading.u7, reading.r7, row.utilization7d, row.reset7dSecs, row.tsMs, 604_800_000);
    if (row.utilization5h !== undefined && row.reset5hSecs !== undefined) {
      reading.u5 = row.utilization5h;
      reading.r5 = row.reset5hSecs;
    }
    if (row.utilization7d !== undefined && row.reset7dSecs !== undefined) {
      reading.u7 = row.utilization7d;
      reading.r7 = row.reset7dSecs;
    }
    if (!success || capacity === undefined) continue;
    if (d5 !== null && Number.isFinite(capacity.window5hCredits)) credits5h = d5 * capacity.window5hCredits;
    if (d7 !== null && Number.isFinite(capacity.window7dCredits)) credits7d = d7 * capacity.window7dCredits;
  }
  return { credits5h, credits7d };
}

/** The utilization a row added to its window, or null when it cannot be told. */
function step(
  lastU: number | undefined,
  lastResetSecs: number | undefined,
  u: number | undefined,
  resetSecs: number | undefined,
  tsMs: number,
  windowMs: number,
): number | null {
  if (u === undefined || resetSecs === undefined) return null;
  if (lastU !== undefined && lastResetSecs !== undefined && Math.abs(resetSecs - lastResetSecs) * 1000 <= SAME_WINDOW_MS) {
    return Math.max(0, u - lastU);
  }
  // A new window: if this request opened it, everything in it is this request's.
  return Math.abs(resetSecs * 1000 - windowMs - tsMs) <= OPENED_BY_REQUEST_MS ? u : null;
}

/** The cost model a trace's columns support. */
export function detectCostModel(columns: ReadonlySet<string>, hasAccounts: boolean): CostModelMode {
  const tokens = columns.has('input_tokens') || columns.has('output_tokens') || columns.has('cache_read_tokens');
  const utilization = hasAccounts && (columns.has('util_5h') || columns.has('util_7d'));
  if (tokens && utilization) return 'calibrated';
  if (tokens) return 'tokens';
  if (utilization) return 'deltas';
  return 'flat';
}
