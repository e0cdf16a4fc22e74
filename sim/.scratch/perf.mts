import { existsSync } from 'node:fs';
import { strategies } from '@shunt/core';
import { generateTrace } from '../src/generate/record.ts';
import { simulate } from '../src/replay/simulate.ts';
const file = '/tmp/perf-300k.csv';
if (!existsSync(file)) await generateTrace({ out: file, accounts: 5, users: 30, days: 14, seed: 9, capacityScale: { window5h: 4, window7d: 4 } });
for (const robustness of [process.argv[2] !== 'off']) {
  const c0 = process.cpuUsage();
  const r = await simulate({ file, strategies: Object.values(strategies), routing: { stickyTtlMs: 600000, expirySoonSecs: 1800, maxWaitMs: 600000 }, pool: { kind: 'trace', plan: 'max5' }, robustness });
  const c = process.cpuUsage(c0);
  console.log('robustness', robustness, 'rows', r.trace.rows, 'cpu ms', Math.round((c.user + c.system) / 1000));
}
