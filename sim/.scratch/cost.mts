import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { generateTrace } from '../src/generate/record.ts';
import { simulate } from '../src/replay/simulate.ts';
import { builtInStrategies } from '../src/replay/load-strategy.ts';
import { SCENARIOS } from '../test/fidelity-scenarios.ts';
const out = join(mkdtempSync('/tmp/fid-'), 'o.csv');
const s = await generateTrace({ ...SCENARIOS['out-of-order']!, writeDelayMs: 0, out });
const truth = new Map(s.truth.requests.map((r) => [r[0], r]));
const seen = new Map<string, { c: number; m: number }>();
const res = await simulate({ file: out, strategies: builtInStrategies().filter((x) => x.name === 'reaper'), routing: { stickyTtlMs: 600000, expirySoonSecs: 1800, maxWaitMs: 600000 }, pool: { kind: 'trace', plan: 'max5' }, onAttempt: (_n, e) => { const r = e.request; seen.set(r.requestId!, { c: r.credits5h, m: r.cacheMissCredits ?? 0 }); } });
const w = res.trace.costModel.weights!; console.log(w.opus.input / s.truth.weights.opus.input, w.sonnet.input / s.truth.weights.sonnet.input);
// unified unit: scale fitted credits by total ratio
let fc = 0, tc = 0; const rows: Array<[number, number, number, number]> = [];
for (const [id, v] of seen) { const t = truth.get(id)!; rows.push([v.c, t[4], v.m, t[5]]); fc += v.c; tc += t[4]; }
const k = tc / fc; console.log('scale', k);
let dc = 0, dm = 0, fm = 0, tm = 0; for (const [c, tt, m, tmm] of rows) { dc += Math.abs(c * k - tt); fm += m * k; tm += tmm; }
console.log('n', rows.length, 'mean abs err', dc / rows.length, 'mean true', tc / rows.length, 'miss sim', fm / rows.length, 'miss truth', tm / rows.length);
