import { mkdtempSync } from 'node:fs';
import { measureScenario } from '../test/fidelity-harness.ts';
import { SCENARIOS } from '../test/fidelity-scenarios.ts';
const m = await measureScenario(mkdtempSync('/tmp/fid-'), 'fw', SCENARIOS['family-weights']!);
for (const r of m.truthReports) console.log(r.strategy, r.firstHold, r.held, r.holdMs, r.exhaustedMinutes, r.failed, r.requests);
for (const r of m.result.results) console.log('sim', r.report.strategy, r.report.firstHold, r.report.held, r.report.failed, r.report.requests);
console.log(m.truth.requests.length, m.truth.startMs, m.truth.endMs, m.result.trace.endMs);
