/**
 * @module
 * The built-in strategies, and how a configured name becomes a {@link Strategy}.
 */
import { carousel } from './carousel.js';
import { cushion } from './cushion.js';
import { maximus } from './maximus.js';
import { reaper } from './reaper.js';
import type { Strategy } from './types.js';

export { carousel, cushion, maximus, reaper };

/** Names of the built-in strategies. */
export type StrategyName = 'maximus' | 'cushion' | 'reaper' | 'carousel';

/** The built-in strategies by name. */
export const strategies: Readonly<Record<StrategyName, Strategy>> = Object.freeze({ maximus, cushion, reaper, carousel });

/**
 * A strategy object as-is, or a built-in strategy by name, case-insensitively. The seed's older
 * names are accepted too: `round-robin` / `round_robin` (Carousel), `most-available` /
 * `most_available` (Cushion), `earliest-expiry` / `earliest_expiry` (Reaper).
 *
 * Throws a `RangeError` listing the valid names for an unknown name: the seed silently fell back
 * to Maximus, which hid typos in config files.
 */
export function resolveStrategy(strategy: Strategy | string): Strategy {
  if (typeof strategy !== 'string') {
    if (typeof strategy?.pick !== 'function') {
      throw new TypeError(`resolveStrategy: expected a strategy name or an object with a pick() method, got ${String(strategy)}`);
    }
    return strategy;
  }
  // Exact hit first: pickAccount resolves the name on every request.
  const found = BY_NAME.get(strategy) ?? BY_NAME.get(strategy.toLowerCase());
  if (found === undefined) {
    throw new RangeError(
      `Unknown routing strategy ${JSON.stringify(strategy)}: expected one of ${Object.keys(strategies).join(', ')} ` +
        `(or an alias: ${[...BY_NAME.keys()].filter((name) => !Object.hasOwn(strategies, name)).join(', ')})`,
    );
  }
  return found;
}

// A Map, not an object literal, so that names such as "constructor" or "__proto__" are unknown.
const BY_NAME: ReadonlyMap<string, Strategy> = new Map<string, Strategy>([
  ['maximus', maximus],
  ['cushion', cushion],
  ['reaper', reaper],
  ['carousel', carousel],
  ['round-robin', carousel],
  ['round_robin', carousel],
  ['most-available', cushion],
  ['most_available', cushion],
  ['earliest-expiry', reaper],
  ['earliest_expiry', reaper],
]);
