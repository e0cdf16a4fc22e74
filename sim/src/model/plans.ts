/**
 * @module
 * Plans and what each one holds. Capacities are in credits: one credit is one US dollar of API
 * list price (see costs.ts), so a window's capacity reads as "this much API-priced usage".
 */

/** Claude subscription plans the model knows. */
export type PlanName = 'pro' | 'team' | 'max5' | 'max20';

/** Every plan name, smallest first. */
export const PLAN_NAMES: readonly PlanName[] = ['pro', 'team', 'max5', 'max20'];

/**
 * Relative size of each plan (Pro = 1). Max 5× and Max 20× are Anthropic's own multiples; a Team
 * standard seat is an assumption (Anthropic says "more than Pro").
 */
export const PLAN_RELATIVE_CAPACITY: Readonly<Record<PlanName, number>> = { pro: 1, team: 1.25, max5: 5, max20: 20 };

/** A Pro account's 5-hour window, in credits (an assumption; calibrate from a real trace). */
export const PRO_5H_CREDITS = 6;

/** How many full 5-hour windows fit in a weekly window (an assumption; calibrate from a real trace). */
export const WEEK_IN_5H_WINDOWS = 8;

/** What one account holds per window, in credits. */
export interface Capacity {
  /** Credits per 5-hour window. */
  readonly window5hCredits: number;
  /** Credits per weekly window. */
  readonly window7dCredits: number;
}

/** The documented default capacity of a plan. */
export function planCapacity(plan: PlanName): Capacity {
  const window5hCredits = PRO_5H_CREDITS * PLAN_RELATIVE_CAPACITY[plan];
  return { window5hCredits, window7dCredits: window5hCredits * WEEK_IN_5H_WINDOWS };
}

/** A plan by name (case-insensitive; `max-5x`, `max_20x` and similar spellings accepted), or undefined. */
export function parsePlan(text: string): PlanName | undefined {
  const key = text.trim().toLowerCase().replace(/[\s_-]/g, '');
  if (key === 'pro') return 'pro';
  if (key === 'team' || key === 'teamstandard') return 'team';
  if (key === 'max5' || key === 'max5x' || key === 'max') return 'max5';
  if (key === 'max20' || key === 'max20x') return 'max20';
  return undefined;
}

/** The plan whose default 5-hour capacity is nearest (by ratio) to `window5hCredits`. */
export function nearestPlan(window5hCredits: number): PlanName {
  let best: PlanName = 'pro';
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const plan of PLAN_NAMES) {
    const distance = Math.abs(Math.log(window5hCredits / planCapacity(plan).window5hCredits));
    if (distance < bestDistance) {
      bestDistance = distance;
      best = plan;
    }
  }
  return best;
}
