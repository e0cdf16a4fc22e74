/**
 * @module
 * Synthetic demand: a small team using Claude Code. Working hours in each member's time zone,
 * lunch, the odd evening and weekend session; conversations short and long, each an agent loop
 * of model calls separated by tool runs; prompt-cached context that grows until it is compacted;
 * bursts of parallel sub-agents; a cheap Haiku side call per prompt. Arrivals never depend on
 * routing, which is also the simulator's assumption.
 */
import type { TokenCounts } from '../trace/assemble.js';
import { createHeap } from '../util/heap.js';
import type { Random } from './random.js';

/** One model call the team makes. */
export interface DemandRequest {
  /** Order of generation among equal arrival times. */
  readonly seq: number;
  readonly arrivalMs: number;
  readonly session: string;
  readonly model: string;
  readonly tokens: TokenCounts;
  /** How long the call takes when served. */
  readonly durationMs: number;
}

/** Options for {@link teamDemand}. */
export interface TeamOptions {
  /** First instant of the trace, epoch ms (a UTC midnight is best). */
  readonly startMs: number;
  readonly days: number;
  readonly users: number;
  readonly random: Random;
}

/** Model ids as Claude Code sends them (short aliases keep the file small). */
export const MODELS = { opus: 'claude-opus-4-5', sonnet: 'claude-sonnet-4-5', haiku: 'claude-haiku-4-5' } as const;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Each member's UTC offset in hours, by index: mostly one office, two remote. */
const UTC_OFFSETS_H = [1, 1, 0, -5, 1, 2, -8, 1, 0, 1, -5, 5.5];

/** Yield the team's model calls in arrival order, one day of generation buffered at a time. */
export function* teamDemand(options: TeamOptions): Generator<DemandRequest> {
  const { startMs, days, users } = options;
  const pending = createHeap<DemandRequest>((a, b) => a.arrivalMs < b.arrivalMs || (a.arrivalMs === b.arrivalMs && a.seq < b.seq));
  const people = Array.from({ length: users }, (_, i) => person(i, options.random.fork(`user-${i}`)));
  const maxOffsetMs = Math.max(...people.map((p) => p.utcOffsetMs));
  const endMs = startMs + days * DAY;
  let seq = 0;
  for (let day = 0; day <= days; day++) {
    for (const p of people) {
      for (const call of workDay(p, day, startMs)) {
        if (call.arrivalMs < startMs || call.arrivalMs >= endMs) continue;
        pending.push({ ...call, seq: seq++ });
      }
    }
    // Nothing generated later can start before the next local midnight of the earliest zone.
    const safeMs = startMs + (day + 1) * DAY - maxOffsetMs;
    while ((pending.peek()?.arrivalMs ?? Number.POSITIVE_INFINITY) < safeMs) yield pending.pop() as DemandRequest;
  }
  while (pending.size > 0) yield pending.pop() as DemandRequest;
}

interface Person {
  readonly name: string;
  readonly utcOffsetMs: number;
  readonly mainModel: string;
  /** Multiplies the pauses between conversations (lower = busier). */
  readonly pace: number;
  readonly weekendChance: number;
  readonly random: Random;
  conversations: number;
}

type Call = Omit<DemandRequest, 'seq'>;

function person(index: number, random: Random): Person {
  return {
    name: `u${index + 1}`,
    utcOffsetMs: (UTC_OFFSETS_H[index % UTC_OFFSETS_H.length] as number) * HOUR,
    mainModel: random.chance(0.75) ? MODELS.opus : MODELS.sonnet,
    pace: random.logNormal(1, 0.35),
    weekendChance: random.between(0.1, 0.4),
    random,
    conversations: 0,
  };
}

/** The calls one person makes on local day `day` (0 = the trace's first day). */
function workDay(p: Person, day: number, startMs: number): Call[] {
  const r = p.random;
  const midnightMs = startMs + day * DAY - p.utcOffsetMs;
  const weekday = new Date(startMs + day * DAY).getUTCDay();
  const weekend = weekday === 0 || weekday === 6;
  const blocks: Array<[number, number]> = [];
  const at = (hours: number): number => midnightMs + hours * HOUR;
  if (weekend) {
    if (r.chance(p.weekendChance)) {
      const start = r.between(10, 20);
      blocks.push([at(start), at(start + r.between(0.75, 3))]);
    }
  } else if (!r.chance(0.04)) {
    // A day off now and then.
    const start = 9 + 0.6 * r.normal();
    const lunch = 12.5 + 0.3 * r.normal();
    const lunchEnd = lunch + Math.max(0.3, 0.75 + 0.2 * r.normal());
    const end = Math.max(lunchEnd + 1, 18 + 0.8 * r.normal());
    blocks.push([at(start), at(lunch)], [at(lunchEnd), at(end)]);
    if (r.chance(0.12)) {
      const evening = r.between(20.5, 22.5);
      blocks.push([at(evening), at(evening + r.between(0.5, 1.5))]);
    }
  }
  const calls: Call[] = [];
  for (const [from, to] of blocks) {
    let t = from;
    while (t < to) {
      t = conversation(p, t, to, calls);
      // Between tasks: a quick look, a review, or a meeting.
      const roll = r.next();
      const pauseMs = roll < 0.6 ? r.between(1, 5) * MINUTE : roll < 0.9 ? r.between(5, 30) * MINUTE : r.between(30, 90) * MINUTE;
      t += pauseMs * p.pace;
    }
  }
  return calls;
}

/** One conversation starting at `t0`; returns when its last turn ends. */
function conversation(p: Person, t0: number, blockEndMs: number, out: Call[]): number {
  const r = p.random;
  const session = `${p.name}-${(p.conversations++).toString(36)}`;
  const model = p.mainModel === MODELS.opus && r.chance(0.1) ? MODELS.sonnet : p.mainModel;
  const turns = r.chance(0.25) ? r.geometric(14) : r.geometric(3);
  const context = { cached: 14_000, fresh: 4_000 + Math.round(r.logNormal(1_500, 0.8)) };
  let t = t0;
  let bursts = 0;
  for (let turn = 0; turn < turns && (turn === 0 || t < blockEndMs); turn++) {
    const prompt = Math.round(r.logNormal(300, 1));
    context.fresh += prompt;
    if (r.chance(0.35)) {
      // Claude Code's small Haiku side call on many prompts.
      out.push({
        arrivalMs: Math.round(t),
        session: `${p.name}-aux`,
        model: MODELS.haiku,
        tokens: { input: 150 + prompt, output: Math.round(r.between(8, 60)), cacheRead: 0, cacheCreation: 0 },
        durationMs: Math.round(r.between(350, 900)),
      });
    }
    const steps = r.geometric(4.5);
    for (let step = 0; step < steps; step++) {
      const last = step === steps - 1;
      t = modelCall(r, session, model, context, t, last, out);
      if (!last && r.chance(0.05)) t = subAgents(p, `${session}-b${(bursts++).toString(36)}`, model, t, out);
      if (!last) t += clamp(r.logNormal(3_000, 0.9), 200, 120_000);
    }
    t += clamp(r.logNormal(45_000, 1), 5_000, 15 * MINUTE);
  }
  return t;
}

/** One agent-loop call: returns when its response ends. */
function modelCall(
  r: Random,
  session: string,
  model: string,
  context: { cached: number; fresh: number },
  t: number,
  last: boolean,
  out: Call[],
): number {
  let output = Math.round(clamp(last ? r.logNormal(450, 0.7) : r.logNormal(170, 0.8), 15, 16_000));
  const compacting = context.cached + context.fresh > 155_000;
  if (compacting) output = Math.round(r.between(3_000, 6_000));
  const tokens = { input: r.int(1, 40), output, cacheRead: context.cached, cacheCreation: context.fresh };
  const durationMs = Math.round(1_000 + r.logNormal(900, 0.5) + (output / r.between(45, 80)) * 1_000);
  out.push({ arrivalMs: Math.round(t), session, model, tokens, durationMs });
  if (compacting) {
    context.cached = 14_000;
    context.fresh = 8_000 + output;
  } else {
    // What this call wrote to the cache is read next time; the tool's result and this output are new.
    context.cached += context.fresh;
    context.fresh = output + Math.round(clamp(r.logNormal(1_600, 1.1), 40, 40_000));
  }
  return t + durationMs;
}

/** A burst of parallel sub-agents (the Task tool); returns when the last one finishes. */
function subAgents(p: Person, parent: string, parentModel: string, t: number, out: Call[]): number {
  const r = p.random;
  const count = r.int(2, 5);
  let doneMs = t;
  for (let k = 0; k < count; k++) {
    const session = `${parent}-a${k}`;
    const model = r.chance(0.5) ? MODELS.sonnet : parentModel;
    const context = { cached: 12_000, fresh: 2_000 + Math.round(r.logNormal(800, 0.6)) };
    let at = t + r.between(50, 400);
    const steps = r.geometric(8);
    for (let step = 0; step < steps; step++) {
      at = modelCall(r, session, model, context, at, step === steps - 1, out);
      at += clamp(r.logNormal(1_500, 0.9), 100, 60_000);
    }
    doneMs = Math.max(doneMs, at);
  }
  return doneMs;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
