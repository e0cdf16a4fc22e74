import { mkdtempSync } from 'node:fs';
import { measureScenario } from '../test/fidelity-harness.ts';
import { SCENARIOS } from '../test/fidelity-scenarios.ts';
for (const d of [0, 8 * 60_000]) {
  const m = await measureScenario(mkdtempSync('/tmp/fid-'), 'o', { ...SCENARIOS['out-of-order']!, writeDelayMs: d });
  console.log(d, m.simRanking.join('>'), m.truthRanking.join('>'));
  for (const [i, r] of m.truthReports.entries()) { const s = m.result.results[i]!.report; console.log(r.strategy, 'truth', r.served, r.held, r.failed, r.accounts.map((a) => a.served + '/' + a.weeklyUse.toFixed(3)).join(' '), '| sim', s.served, s.held, s.failed, s.accounts.map((a) => a.served + '/' + a.weeklyUse.toFixed(3)).join(' ')); }
  console.log(m.result.trace.accounts.map((a) => `${a.name} ${a.startUtilization5h} ${a.startUtilization7d} ${a.weeklyResetMs}`), m.truth.accounts.map((a) => `${a.name} ${a.startUtilization7d} ${a.weeklyResetMs}`));
}
