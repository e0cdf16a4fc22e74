import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { generateTrace } from '../src/generate/record.ts';
import { readTrace, type ReadRow } from '../src/trace/reader.ts';
import { modelFamily, tokenCredits } from '../src/model/costs.ts';
import { SCENARIOS } from '../test/fidelity-scenarios.ts';
const out = join(mkdtempSync('/tmp/fid-'), 'o.csv');
const s = await generateTrace({ ...SCENARIOS['cache-1h-sticky']!, cacheTtl: '5m', out });
const rows: ReadRow[] = []; await readTrace(out, (r) => rows.push(r));
rows.sort((a, b) => a.tsMs - b.tsMs || (a.utilization5h ?? 0) - (b.utilization5h ?? 0) || a.recordIndex - b.recordIndex);
const cap = new Map(s.accounts.map((a) => [a.name, a.capacity.window5hCredits]));
const seg = new Map<string, { reset: number; base: number; sum: number; last: number }>();
let shown = 0;
for (const r of rows) {
  if (!r.account || r.utilization5h === undefined) continue;
  const ok = r.status === 200;
  const cost = ok ? tokenCredits({ input: r.inputTokens!, output: r.outputTokens!, cacheRead: r.cacheReadTokens!, cacheCreation: r.cacheCreationTokens!, cacheCreation1h: r.cacheCreation1hTokens }, modelFamily(r.model), s.truth.weights) : 0;
  let g = seg.get(r.account);
  if (!g || Math.abs(r.reset5hSecs! - g.reset) > 600 || r.utilization5h < g.last - 0.02) { seg.set(r.account, { reset: r.reset5hSecs!, base: r.utilization5h, sum: 0, last: r.utilization5h }); continue; }
  g.sum += cost / cap.get(r.account)!; g.last = r.utilization5h;
  const res = r.utilization5h - g.base - g.sum;
  if (Math.abs(res) > 0.002 && shown++ < 8) console.log(r.account, new Date(r.tsMs).toISOString(), r.status, r.model, r.utilization5h, 'pred', (g.base + g.sum).toFixed(4), 'res', res.toFixed(4), r.reset5hSecs, r.requestId);
}
