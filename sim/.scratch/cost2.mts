import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { generateTrace } from '../src/generate/record.ts';
import { simulate } from '../src/replay/simulate.ts';
import { builtInStrategies } from '../src/replay/load-strategy.ts';
import { readTrace } from '../src/trace/reader.ts';
import { SCENARIOS } from '../test/fidelity-scenarios.ts';
const out = join(mkdtempSync('/tmp/fid-'), 'o.csv');
const s = await generateTrace({ ...SCENARIOS[process.argv[2] ?? 'busy-zero-tokens']!, out });
const truth = new Map(s.truth.requests.map((r) => [r[0], r]));
const served = new Set<string>(); await readTrace(out, (r) => { if (r.status === 200) served.add(r.requestId!); });
const seen = new Map<string, { c: number; m: number }>();
const res = await simulate({ file: out, strategies: builtInStrategies().filter((x) => x.name === 'reaper'), routing: { stickyTtlMs: 600000, expirySoonSecs: 1800, maxWaitMs: 600000 }, pool: { kind: 'trace', plan: 'max5' }, onAttempt: (_n, e) => { const r = e.request; seen.set(r.requestId!, { c: r.credits5h, m: r.cacheMissCredits ?? 0 }); } });
let fc = 0, tc = 0; for (const [id, v] of seen) if (served.has(id)) { fc += v.c + v.m; tc += truth.get(id)![4] + truth.get(id)![5]; }
const k = tc / fc; console.log('scale', k);
for (const est of [false, true]) {
  let a = 0, b = 0, am = 0, bm = 0, n = 0;
  for (const [id, v] of seen) { if (served.has(id) === est) continue; const t = truth.get(id)!; a += v.c * k; b += t[4]; am += v.m * k; bm += t[5]; n++; }
  console.log(est ? 'estimated' : 'known', n, 'hit sim/truth', (a / b).toFixed(3), 'miss sim/truth', (am / bm).toFixed(3));
}
