import { mkdtempSync } from 'node:fs';
import { measureScenario } from '../test/fidelity-harness.ts';
import { SCENARIOS } from '../test/fidelity-scenarios.ts';
const base = SCENARIOS['cache-1h-sticky']!;
const variants: Record<string, object> = { big: { capacityScale: { window5h: 3, window7d: 3 } }, fivemin: { cacheTtl: '5m' }, nosticky: { stickyTtlMs: 600000 }, carousel: { strategy: 'carousel' } };
for (const [n, v] of Object.entries(variants)) {
  const m = await measureScenario(mkdtempSync('/tmp/fid-'), n, { ...base, ...v });
  const c = m.result.trace.costModel.calibration!;
  console.log(n, m.familyRatioErrors.map((e) => `${e.family}:${e.error.toFixed(3)}`).join(' '), 'haiku in', (c.weights.haiku.input / m.truth.weights.haiku.input).toFixed(2), 'opus in', (c.weights.opus.input / m.truth.weights.opus.input).toFixed(2), 'r2', c.r2.toFixed(4), 'rec429', m.result.trace.recorded.rateLimited);
}
