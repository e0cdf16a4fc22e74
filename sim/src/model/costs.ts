/**
 * @module
 * What a request costs, in credits (US dollars at API list price). Anthropic does not publish how
 * subscription windows are charged; API price is the documented default because it tracks compute,
 * and `calibrate` replaces it with weights fitted to a trace's own utilization headers.
 */
import type { TokenCounts } from '../trace/assemble.js';

/** Model families priced differently. */
export type ModelFamily = 'opus' | 'sonnet' | 'haiku';

/** Every family, in feature order. */
export const MODEL_FAMILIES: readonly ModelFamily[] = ['opus', 'sonnet', 'haiku'];

/** Token kinds, in feature order. */
export const TOKEN_KINDS = ['input', 'output', 'cacheRead', 'cacheCreation', 'cacheCreation1h'] as const;

/** A token kind: `cacheCreation` is a 5-minute cache write, `cacheCreation1h` a 1-hour one. */
export type TokenKind = (typeof TOKEN_KINDS)[number];

/** Credits per token of each kind. */
export type KindWeights = Readonly<Record<(typeof TOKEN_KINDS)[number], number>>;

/** Credits per token, by family and kind. */
export type TokenWeights = Readonly<Record<ModelFamily, KindWeights>>;

const PER_MILLION = 1e-6;

/**
 * API list prices in credits per token (USD per million tokens: Opus 4.5 $5 in / $25 out,
 * Sonnet 4.5 $3 / $15, Haiku 4.5 $1 / $5; cache reads cost 0.1× input, 5-minute cache writes 1.25×,
 * 1-hour cache writes 2×).
 */
export const DEFAULT_TOKEN_WEIGHTS: TokenWeights = {
  opus: kindWeights(5),
  sonnet: kindWeights(3),
  haiku: kindWeights(1),
};

/**
 * A request's cost when the trace carries no token counts and no utilization: a typical Claude
 * Code turn (≈60k cached context, 2k new, 400 output tokens) at list price.
 */
export const DEFAULT_REQUEST_CREDITS: Readonly<Record<ModelFamily, number>> = {
  opus: 0.06,
  sonnet: 0.036,
  haiku: 0.004,
};

/** The family of a model name: `opus` and `haiku` by substring, anything else priced as Sonnet. */
export function modelFamily(model: string | null | undefined): ModelFamily {
  if (model === null || model === undefined) return 'sonnet';
  const lower = model.toLowerCase();
  if (lower.includes('opus')) return 'opus';
  if (lower.includes('haiku')) return 'haiku';
  return 'sonnet';
}

/** Credits a request with these tokens costs under `weights`. */
export function tokenCredits(tokens: TokenCounts, family: ModelFamily, weights: TokenWeights = DEFAULT_TOKEN_WEIGHTS): number {
  const w = weights[family];
  const write1h = tokens.cacheCreation1h ?? 0;
  return (
    tokens.input * w.input +
    tokens.output * w.output +
    tokens.cacheRead * w.cacheRead +
    (tokens.cacheCreation - write1h) * w.cacheCreation +
    write1h * w.cacheCreation1h
  );
}

/** Index of a (family, kind) pair in a flat feature vector of length {@link FEATURE_COUNT}. */
export function featureIndex(family: ModelFamily, kind: TokenKind): number {
  return MODEL_FAMILIES.indexOf(family) * TOKEN_KINDS.length + TOKEN_KINDS.indexOf(kind);
}

/** Number of (family, kind) features. */
export const FEATURE_COUNT: number = MODEL_FAMILIES.length * TOKEN_KINDS.length;

/** Weights as a flat vector in feature order. */
export function weightsToVector(weights: TokenWeights): number[] {
  const out: number[] = [];
  for (const family of MODEL_FAMILIES) for (const kind of TOKEN_KINDS) out.push(weights[family][kind]);
  return out;
}

/** A flat vector back to weights. */
export function vectorToWeights(vector: readonly number[]): TokenWeights {
  const build = (family: ModelFamily): KindWeights => ({
    input: vector[featureIndex(family, 'input')] ?? 0,
    output: vector[featureIndex(family, 'output')] ?? 0,
    cacheRead: vector[featureIndex(family, 'cacheRead')] ?? 0,
    cacheCreation: vector[featureIndex(family, 'cacheCreation')] ?? 0,
    cacheCreation1h: vector[featureIndex(family, 'cacheCreation1h')] ?? 0,
  });
  return { opus: build('opus'), sonnet: build('sonnet'), haiku: build('haiku') };
}

/** Add a request's tokens into a feature vector. */
export function addFeatures(into: Float64Array | number[], tokens: TokenCounts, family: ModelFamily): void {
  const base = MODEL_FAMILIES.indexOf(family) * TOKEN_KINDS.length;
  into[base] = (into[base] ?? 0) + tokens.input;
  into[base + 1] = (into[base + 1] ?? 0) + tokens.output;
  const write1h = tokens.cacheCreation1h ?? 0;
  into[base + 2] = (into[base + 2] ?? 0) + tokens.cacheRead;
  into[base + 3] = (into[base + 3] ?? 0) + tokens.cacheCreation - write1h;
  into[base + 4] = (into[base + 4] ?? 0) + write1h;
}

function kindWeights(inputPerMillion: number): KindWeights {
  return {
    input: inputPerMillion * PER_MILLION,
    output: inputPerMillion * 5 * PER_MILLION,
    cacheRead: inputPerMillion * 0.1 * PER_MILLION,
    cacheCreation: inputPerMillion * 1.25 * PER_MILLION,
    cacheCreation1h: inputPerMillion * 2 * PER_MILLION,
  };
}
