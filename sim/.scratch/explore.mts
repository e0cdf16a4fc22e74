import { mkdtempSync } from 'node:fs';
import { measureScenario } from '/work/wt/sim/sim/test/fidelity-harness.ts';
import { SCENARIOS } from '/work/wt/sim/sim/test/fidelity-scenarios.ts';
const dir = mkdtempSync('/tmp/fid-');
const only = process.argv[2];
for (const [name, scenario] of Object.entries(SCENARIOS)) {
  if (only && name !== only) continue;
  const t = Date.now();
  const m = await measureScenario(dir, name, scenario);
  const f = m.result.trace.fidelity;
  console.log(`== ${name} (${Date.now() - t} ms) requests ${m.result.trace.requests} recorded429 ${m.result.trace.recorded.rateLimited} mode ${m.result.trace.costModel.mode} fallbacks ${m.result.trace.costModel.fallbacks}`);
  console.log(' cap', m.capacityErrors.map((e) => `${e.account}/${e.window}:${(e.error * 100).toFixed(2)}%`).join(' '));
  console.log(' fam', m.familyRatioErrors.map((e) => `${e.family}:${(e.error * 100).toFixed(2)}%`).join(' '));
  console.log(' fid', JSON.stringify(f));
  console.log(' sim  ', m.simRanking.join(' > '), m.result.results.map((r) => `${r.report.strategy}:${r.report.served}/${r.report.held}/${r.report.cacheMisses.credits.toFixed(2)}/${r.report.rateLimited}`).join(' '));
  console.log(' truth', m.truthRanking.join(' > '), m.truthReports.map((r) => `${r.strategy}:${r.served}/${r.held}/${r.cacheMisses.credits.toFixed(2)}/${r.rateLimited}`).join(' '));
}
