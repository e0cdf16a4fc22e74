/**
 * `pnpm bench` for @shunt/core: picks per second per strategy and pool size, and `fingerprint`
 * against `JSON.parse` of the same body. Prints the tables and rewrites this package's section of
 * docs/benchmarks.md. Not a test: nothing here asserts on timings.
 */
import { machineLine, writeBenchSection } from '../../../scripts/bench-doc.js';
import { benchFingerprint } from './fingerprint.bench.js';
import { benchPick } from './pick.bench.js';

const pickRows = await benchPick();
const strategies = [...new Set(pickRows.map((row) => row.strategy))];
const sizes = [...new Set(pickRows.map((row) => row.accounts))];
const picksPerSec = (strategy: string, accounts: number): string => {
  const row = pickRows.find((r) => r.strategy === strategy && r.accounts === accounts);
  return row === undefined ? '–' : Math.round(row.picksPerSec).toLocaleString('en-US');
};

const fingerprintRows = await benchFingerprint();

const markdown = `## @shunt/core

${machineLine()}

### \`pickAccount\`: picks per second

Each pick runs the whole decision (pin, sticky, eligibility filter, strategy) over a \`memoryStore\`
whose accounts carry varied 5 h / 7 d utilization and resets, with no conversation fingerprint.

| Strategy | ${sizes.map((n) => `${n} accounts`).join(' | ')} |
|---|${sizes.map(() => '---:').join('|')}|
${strategies.map((s) => `| ${s} | ${sizes.map((n) => picksPerSec(s, n)).join(' | ')} |`).join('\n')}

### \`fingerprint\` vs \`JSON.parse\` of the same Claude-Code-like body

Medians of the best of three tinybench rounds per cell. The baseline for string input is
\`JSON.parse(body)\`. For bytes there are two: \`JSON.parse(new TextDecoder().decode(body))\`, what
portable code does, and \`JSON.parse(buffer.toString())\`, the fastest Node offers (V8's own UTF-8
decoder; Node 20's TextDecoder is several times slower on non-ASCII text). Speed-up = baseline time /
fingerprint time. A proxy receives bytes, so the bytes rows are the ones on its request path.

| Body | Input | fingerprint (ms) | JSON.parse (ms) | Speed-up | JSON.parse(buffer.toString()) (ms) | Speed-up vs it |
|---|---|---:|---:|---:|---:|---:|
${fingerprintRows
  .map(
    (r) =>
      `| ${r.size} | ${r.input} | ${r.fingerprintP50Ms.toFixed(3)} | ${r.jsonParseP50Ms.toFixed(3)} | ${r.medianSpeedup.toFixed(2)}× | ` +
      `${r.nodeBaselineP50Ms === null ? '–' : r.nodeBaselineP50Ms.toFixed(3)} | ${r.nodeMedianSpeedup === null ? '–' : `${r.nodeMedianSpeedup.toFixed(2)}×`} |`,
  )
  .join('\n')}
`;

console.log(markdown);
await writeBenchSection('core', markdown);
console.error('wrote docs/benchmarks.md (section "core")');
