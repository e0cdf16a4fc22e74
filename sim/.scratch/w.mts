import { mkdtempSync } from 'node:fs';
import { measureScenario } from '../test/fidelity-harness.ts';
import { SCENARIOS } from '../test/fidelity-scenarios.ts';
for (const name of process.argv.slice(2)) {
  const m = await measureScenario(mkdtempSync('/tmp/fid-'), name, SCENARIOS[name]!);
  const c = m.result.trace.costModel.calibration!;
  const w = c.weights, e = c.weightErrors, t = m.truth.weights;
  for (const f of ['opus', 'sonnet', 'haiku'] as const) console.log(name, f, Object.keys(w[f]).map((k) => `${k}:${((w[f] as any)[k] / (t[f] as any)[k]).toFixed(3)}±${((e[f] as any)[k]).toFixed(3)}`).join(' '));
  console.log(m.familyRatioErrors, c.weightsFitted, [...c.groups.values()].map((g) => g.capacityError));
}
