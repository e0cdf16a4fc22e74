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

The baseline for string input is \`JSON.parse(body)\`; for bytes it is
\`JSON.parse(new TextDecoder().decode(body))\`. Speed-up = baseline time / fingerprint time.

| Body | Input | fingerprint (ms) | JSON.parse (ms) | Speed-up |
|---|---|---:|---:|---:|
${fingerprintRows
  .map((r) => `| ${r.size} | ${r.input} | ${r.fingerprintMs.toFixed(3)} | ${r.jsonParseMs.toFixed(3)} | ${r.speedup.toFixed(2)}× |`)
  .join('\n')}
`;

console.log(markdown);
await writeBenchSection('core', markdown);
console.error('wrote docs/benchmarks.md (section "core")');
