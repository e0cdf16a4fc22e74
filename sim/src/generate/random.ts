/**
 * @module
 * A seeded pseudo-random source (sfc32 seeded through splitmix32). The generator's only source of
 * randomness, so the same seed always gives the same trace on every platform.
 */

/** Seeded randomness. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number;
  /** Uniform in [min, max). */
  between(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** Log-normal with the given median and log-space standard deviation. */
  logNormal(median: number, sigma: number): number;
  /** Exponential with the given mean. */
  exponential(mean: number): number;
  /** Geometric count ≥ 1 with the given mean. */
  geometric(mean: number): number;
  /** An independent stream derived from this seed and `label` (stable however much this one is used). */
  fork(label: string): Random;
}

/** Create a random source from a seed. */
export function createRandom(seed: number | string): Random {
  return fromState(seedState(typeof seed === 'number' ? String(seed) : seed));
}

function fromState(state: Uint32Array): Random {
  const origin = Uint32Array.from(state);
  const nextU32 = (): number => {
    // sfc32
    const a = state[0] as number;
    const b = state[1] as number;
    const c = state[2] as number;
    const d = state[3] as number;
    const t = (((a + b) | 0) + d) | 0;
    state[3] = (d + 1) | 0;
    state[0] = b ^ (b >>> 9);
    state[1] = (c + (c << 3)) | 0;
    const rotated = (c << 21) | (c >>> 11);
    state[2] = (rotated + t) | 0;
    return t >>> 0;
  };
  const random: Random = {
    next: () => nextU32() / 4_294_967_296,
    int: (min, max) => min + Math.floor(random.next() * (max - min + 1)),
    between: (min, max) => min + random.next() * (max - min),
    chance: (p) => random.next() < p,
    pick: (items) => items[Math.floor(random.next() * items.length)] as (typeof items)[number],
    normal() {
      const u = 1 - random.next();
      const v = random.next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    logNormal: (median, sigma) => median * Math.exp(sigma * random.normal()),
    exponential: (mean) => -mean * Math.log(1 - random.next()),
    geometric(mean) {
      if (mean <= 1) return 1;
      const p = 1 / mean;
      return 1 + Math.floor(Math.log(1 - random.next()) / Math.log(1 - p));
    },
    fork: (label) => fromState(seedState(`${Array.from(origin).join(':')}/${label}`)),
  };
  return random;
}

function seedState(text: string): Uint32Array {
  // FNV-1a over the text, then splitmix32 to fill the state.
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  const state = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    h = (h + 0x9e3779b9) >>> 0;
    let z = h;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    state[i] = (z ^ (z >>> 16)) >>> 0;
  }
  if (state.every((v) => v === 0)) state[0] = 1;
  return state;
}
