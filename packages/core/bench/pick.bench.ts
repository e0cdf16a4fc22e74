/**
 * @module
 * Benchmark: `pickAccount` picks per second for every built-in strategy at 4, 16, 256 and 4096
 * accounts. Run with `tsx --conditions=@shunt/source bench/pick.bench.ts` from packages/core to
 * print a markdown table; `bench/core.bench.ts` imports {@link benchPick}.
 */
import { pathToFileURL } from 'node:url';
import { pickAccount } from '../src/pick.js';
import { memoryStore, type MemoryStore } from '../src/store/memory.js';
import { strategies, type StrategyName } from '../src/strategies/index.js';
import type { Account } from '../src/strategies/types.js';
import type { StateStore } from '../src/store/types.js';
import { mulberry32 } from '../test/prng.js';

/** Pool sizes measured. */
export const POOL_SIZES: readonly number[] = [4, 16, 256, 4096];

/** Picks per second of `pickAccount` for each built-in strategy and pool size. */
export async function benchPick(
  options: { sizes?: readonly number[]; minTimeMs?: number } = {},
): Promise<Array<{ strategy: string; accounts: number; picksPerSec: number }>> {
  const rows: Array<{ strategy: string; accounts: number; picksPerSec: number }> = [];
  for (const size of options.sizes ?? POOL_SIZES) {
    for (const name of Object.keys(strategies) as StrategyName[]) {
      const { accounts, store } = pool(size);
      rows.push({ strategy: name, accounts: size, picksPerSec: measure(accounts, store, name, options.minTimeMs ?? 300) });
      // Let the event loop breathe between runs (and keep the function honestly async).
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return rows;
}

/**
 * A pool on a fixed virtual clock with varied quota: utilizations across 0..1.01 and resets spread
 * over both windows, a few accounts cooling down, one exhausted in every 32, and a quarter never seen.
 */
const NOW_MS = Date.parse('2026-01-01T12:00:00Z');

function pool(size: number): { accounts: Account[]; store: MemoryStore } {
  const store = memoryStore({ now: () => NOW_MS });
  const accounts = Array.from({ length: size }, (_, i) => ({ name: `account-${String(i).padStart(4, '0')}` }));
  fillVariedPool(store, accounts, NOW_MS);
  return { accounts, store };
}

/**
 * The benchmark pool's state, written through the StateStore interface so other stores (Redis)
 * benchmark the very same pool: varied 5 h / 7 d utilization and resets, a quarter of the accounts
 * never seen, one in 16 cooling, one in 32 with a rejected 5-hour window.
 */
export function fillVariedPool(store: StateStore, accounts: readonly Account[], nowMs: number): void {
  const nowSecs = nowMs / 1000;
  const rand = mulberry32(accounts.length);
  accounts.forEach(({ name }, i) => {
    if (i % 4 === 3) return;
    const exhausted = i % 32 === 5;
    store.updateRateLimits(name, {
      utilization5h: exhausted ? 1.01 : Math.round(rand() * 100) / 100,
      reset5hSecs: nowSecs + 1 + Math.floor(rand() * 18_000),
      status5h: exhausted ? 'rejected' : rand() < 0.1 ? 'allowed_warning' : 'allowed',
      utilization7d: Math.round(rand() * 100) / 100,
      reset7dSecs: nowSecs + 1 + Math.floor(rand() * 604_800),
      status7d: 'allowed',
      updatedMs: nowMs,
    });
    if (i % 16 === 7) store.setCooldown(name, 60_000);
  });
}

function measure(accounts: readonly Account[], store: MemoryStore, strategy: StrategyName, minTimeMs: number): number {
  const options = { strategy };
  let sink = 0;
  const run = (n: number): void => {
    for (let i = 0; i < n; i++) sink += pickAccount(accounts, store, options)?.name.length ?? 0;
  };
  // Warm up until the JIT has settled (about a tenth of the measuring time), then measure in
  // batches sized to take ~10 ms each, so the clock is read rarely.
  let batch = 1;
  const warmUntil = process.hrtime.bigint() + BigInt(Math.round(minTimeMs / 10) * 1e6);
  while (process.hrtime.bigint() < warmUntil) {
    const start = process.hrtime.bigint();
    run(batch);
    if (Number(process.hrtime.bigint() - start) < 10e6) batch *= 2;
  }
  let picks = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(minTimeMs * 1e6);
  let now = start;
  while (now < end) {
    run(batch);
    picks += batch;
    now = process.hrtime.bigint();
  }
  if (sink === 0) throw new Error('benchmark: no account was ever picked');
  return picks / (Number(now - start) / 1e9);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await benchPick();
  const sizes = [...new Set(rows.map((row) => row.accounts))];
  const names = [...new Set(rows.map((row) => row.strategy))];
  const cell = (strategy: string, size: number): string =>
    Math.round(rows.find((r) => r.strategy === strategy && r.accounts === size)?.picksPerSec ?? 0).toLocaleString('en-US');
  console.log(`| Strategy | ${sizes.map((n) => `${String(n)} accounts`).join(' | ')} |`);
  console.log(`|---|${sizes.map(() => '---:').join('|')}|`);
  for (const name of names) console.log(`| ${name} | ${sizes.map((n) => cell(name, n)).join(' | ')} |`);
}
