/**
 * @module
 * Carousel: plain round-robin over the eligible candidates.
 */
import type { Strategy } from './types.js';

/**
 * `candidates[counter mod candidates.length]`, where `counter` is the store's round-robin
 * counter, advanced once per strategy decision. Quota is ignored. The rotation runs over the
 * *eligible* list, so it shifts whenever an account leaves or rejoins it.
 */
export const carousel: Strategy = {
  name: 'carousel',

  pick(candidates, context) {
    const counter = context.store.nextRoundRobin();
    // The double modulo keeps a negative counter (a custom store's wrap-around) in range; a
    // non-integer one has no slot and falls back to the first candidate rather than crashing.
    return candidates[((counter % candidates.length) + candidates.length) % candidates.length] ?? candidates[0];
  },

  // Nothing is weighed per account, and the counter cannot be read without advancing it.
  explain: () => NOTHING_WEIGHED,
};

const NOTHING_WEIGHED: Readonly<Record<string, never>> = Object.freeze({});
