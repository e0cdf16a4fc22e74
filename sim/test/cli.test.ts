import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HEADER, runScript, tempDir, writeTemp } from './helpers.js';

const dir = tempDir();
const GOOD_ROWS = [
  '2026-01-05T09:00:00.000Z,r1,s1,a,claude-opus-4-5,200,10,500,20000,3000',
  '2026-01-05T09:00:05.000Z,r2,s1,a,claude-opus-4-5,200,10,400,23000,900',
  '2026-01-05T09:00:03.000Z,r3,s2,b,claude-sonnet-4-5,200,10,300,18000,2500',
];
const good = writeTemp(dir, 'good.csv', `# shunt-trace v1\n${HEADER}\n${GOOD_ROWS.join('\n')}\n`);

/** Run the simulator on a bad trace and check the error names file, line and column. */
function expectBadInput(content: string, expected: RegExp, extraArgs: readonly string[] = []): void {
  const file = writeTemp(dir, `bad-${Math.random().toString(36).slice(2)}.csv`, content);
  const html = join(dir, `report-${Math.random().toString(36).slice(2)}.html`);
  const run = runScript('cli.ts', [file, '--html', html, ...extraArgs]);
  expect(run.code).toBe(2);
  expect(run.stdout).toBe('');
  expect(run.stderr).toMatch(new RegExp(`^sim: ${escape(file)}${expected.source}`, 'm'));
  // Nothing half-written.
  expect(existsSync(html)).toBe(false);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('pnpm sim', () => {
  it('should print the comparison table for every built-in strategy', () => {
    const run = runScript('cli.ts', [good]);
    expect(run.code).toBe(0);
    for (const name of ['maximus', 'cushion', 'reaper', 'carousel']) expect(run.stdout).toMatch(new RegExp(`^${name} `, 'm'));
    expect(run.stdout).toContain('Strategies on 3 requests');
  });

  it('should print byte-identical JSON on every run, with the documented keys', () => {
    const first = runScript('cli.ts', [good, '--json']);
    const second = runScript('cli.ts', [good, '--json']);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(second.stdout);
    const report = JSON.parse(first.stdout) as { trace: unknown; strategies: Array<Record<string, unknown>> };
    expect(report.trace).toBeDefined();
    expect(report.strategies.map((s) => s['strategy'])).toEqual(['maximus', 'cushion', 'reaper', 'carousel']);
    for (const key of ['requests', 'served', 'failed', 'rateLimited', 'held', 'holdMs', 'switches']) {
      expect(report.strategies[0]).toHaveProperty(key);
    }
  });

  it('should report the self-check, the verdict and an added account in the JSON and the table', () => {
    const trace = join(dir, 'gen-fidelity.csv');
    expect(runScript('gen-cli.ts', ['--out', trace, '--accounts', '2', '--days', '1', '--seed', '5', '--scale-5h', '0.2']).code).toBe(0);
    const json = runScript('cli.ts', [trace, '--json', '--add-account', 'max20', '--strategy', 'maximus', '--strategy', 'carousel']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as {
      trace: { fidelity: Record<string, unknown> };
      verdict: Record<string, unknown>;
      whatIf: { added: Array<{ plan: string }>; strategies: Array<{ served: number }> };
      strategies: Array<{ served: number; cacheMisses: unknown }>;
    };
    for (const key of ['recorded429s', 'reproduced429s', 'missed429s', 'spurious429s', 'firstRateLimitErrorMinutes']) {
      expect(report.trace.fidelity).toHaveProperty(key);
    }
    expect(report.trace.fidelity['recorded429s']).toBeGreaterThan(0);
    expect(report.trace.fidelity['good']).toBe(true);
    expect(['maximus', 'carousel']).toContain(report.verdict['best']);
    expect(typeof report.verdict['robust']).toBe('boolean');
    expect(report.strategies[0]).toHaveProperty('cacheMisses');
    expect(report.whatIf.added.map((a) => a.plan)).toEqual(['max20']);
    // A Max 20× more never serves fewer.
    report.whatIf.strategies.forEach((after, i) => expect(after.served).toBeGreaterThanOrEqual(report.strategies[i]?.served ?? 0));
    const table = runScript('cli.ts', [trace, '--add-account', 'max20', '--strategy', 'maximus', '--strategy', 'carousel']);
    expect(table.stdout).toMatch(/^Self-check \(the recorded routing through the model\): \d+ of \d+ recorded 429s reproduced/m);
    expect(table.stdout).toMatch(/^best for this trace: /m);
    expect(table.stdout).toMatch(/^What if the pool also had added-1 \(max20/m);
    expect(runScript('cli.ts', [trace, '--add-account', 'platinum']).stderr).toMatch(/--add-account platinum: expected one of/);
  });

  it('should price by the trace\'s own utilization changes when too few readings to calibrate', () => {
    const header = `${HEADER},util_5h,reset_5h`;
    const reset = Date.UTC(2026, 0, 5, 14) / 1000;
    const rows = [
      `2026-01-05T09:00:00.000Z,r1,s1,a,claude-opus-4-5,200,10,500,20000,3000,0.01,${reset}`,
      `2026-01-05T09:00:05.000Z,r2,s1,a,claude-opus-4-5,200,10,400,23000,900,0.02,${reset}`,
    ];
    const file = writeTemp(dir, 'short.csv', `${header}\n${rows.join('\n')}\n`);
    const run = runScript('cli.ts', [file, '--json', '--strategy', 'maximus']);
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as { trace: { costModel: { mode: string } } }).trace.costModel.mode).toBe('deltas');
    expect(run.stderr).toMatch(/pricing requests by their own utilization changes/);
  });

  it('should write a self-contained HTML report', () => {
    const html = join(dir, 'report.html');
    const run = runScript('cli.ts', [good, '--html', html, '--strategy', 'maximus']);
    expect(run.code).toBe(0);
    const page = readFileSync(html, 'utf8');
    expect(page).toMatch(/^<!doctype html>/i);
    expect(page).toContain('<svg');
    expect(page).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org)/);
  });

  it('should load a custom strategy module', () => {
    const module = writeTemp(
      dir,
      'last-fit.ts',
      "import type { Strategy } from '@shunt/core';\nconst lastFit: Strategy = { name: 'last-fit', pick: (candidates) => candidates[candidates.length - 1] ?? candidates[0] };\nexport default lastFit;\n",
    );
    const run = runScript('cli.ts', [good, '--strategy', 'maximus', '--strategy', module, '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as { strategies: Array<{ strategy: string }> }).strategies.map((s) => s.strategy)).toEqual([
      'maximus',
      'last-fit',
    ]);
  });

  it('should reject a malformed row', () => {
    expectBadInput(`# shunt-trace v1\n${HEADER}\n${GOOD_ROWS[0]}\n2026-01-05T09:00:01Z,r9,s1\n`, /:4: malformed row: expected as many fields as the header, got 3/);
  });

  it('should reject an unknown status', () => {
    expectBadInput(`# shunt-trace v1\n${HEADER}\n${GOOD_ROWS[0]}\n2026-01-05T09:00:01Z,r9,s1,a,m,teapot,1,2,3,4\n`, /:4:6: column "status": expected an HTTP status code/);
  });

  it('should reject a non-numeric token count', () => {
    expectBadInput(`${HEADER}\n${GOOD_ROWS[0]}\n2026-01-05T09:00:01Z,r9,s1,a,m,200,1,2,1.5e3,4\n`, /:3:9: column "cache_read_tokens": expected a non-negative integer, got "1.5e3"/);
  });

  it('should reject an empty file', () => {
    expectBadInput('', /:1: empty trace/);
  });

  it('should reject a trace without a ts column', () => {
    expectBadInput('account,status\na,200\n', /:1: missing required column "ts"/);
  });

  it('should reject an unknown format version', () => {
    expectBadInput('# shunt-trace v9\nts\n2026-01-05T09:00:00Z\n', /:1:1: unsupported trace format version 9/);
  });

  it('should reject a row later than the reorder window allows, naming its line', () => {
    expectBadInput(
      `${HEADER}\n2026-01-05T09:00:00Z,r1,s,a,m,200,1,2,3,4\n2026-01-05T10:00:00Z,r2,s,a,m,200,1,2,3,4\n2026-01-05T10:30:00Z,r3,s,a,m,200,1,2,3,4\n2026-01-05T09:30:00Z,r4,s,a,m,200,1,2,3,4\n`,
      /:5: row is 30m00s earlier than rows already replayed/,
      ['--reorder-window', '10m'],
    );
  });

  it('should report a missing file and usage errors with exit code 2', () => {
    const missing = runScript('cli.ts', [join(dir, 'nope.csv')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.csv: cannot read the trace: no such file/);
    expect(runScript('cli.ts', []).code).toBe(2);
    expect(runScript('cli.ts', [good, '--max-wait', 'soon']).stderr).toMatch(/--max-wait soon: expected a duration/);
    expect(runScript('cli.ts', [good, '--strategy', 'fastest']).stderr).toMatch(/Unknown routing strategy "fastest"/);
    expect(runScript('cli.ts', [good, '--bogus']).code).toBe(2);
  });

  it('should answer an unknown option with one line and the usage, not parseArgs\'s text', () => {
    const run = runScript('cli.ts', ['--bogus']);
    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(run.stderr).toBe("sim: unknown option '--bogus'\nUsage: pnpm sim <trace.csv> [options]   (pnpm sim --help lists the options)\n");
  });

  it('should simulate the pool of an accounts file, and name the line of a bad plan', () => {
    const accounts = writeTemp(dir, 'accounts.csv', 'name,plan,weekly_reset\na,max20,2026-01-07T10:00:00Z\nb,pro,\nc,max5,\n');
    const run = runScript('cli.ts', [good, '--accounts', accounts, '--json', '--strategy', 'cushion']);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { trace: { accounts: Array<{ name: string; plan: string; planSource: string; weeklyReset: string | null }> } };
    expect(report.trace.accounts.map((a) => [a.name, a.plan, a.planSource])).toEqual([
      ['a', 'max20', 'file'],
      ['b', 'pro', 'file'],
      ['c', 'max5', 'file'],
    ]);
    expect(report.trace.accounts[0]?.weeklyReset).toBe('2026-01-07T10:00:00.000Z');
    const bad = writeTemp(dir, 'bad-accounts.csv', 'name,plan\na,max20\nb,platinum\n');
    const refused = runScript('cli.ts', [good, '--accounts', bad]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/bad-accounts\.csv:3:2: unknown plan "platinum"/);
  });

  it('should skip bad rows when asked and say how many', () => {
    const file = writeTemp(dir, 'some-bad.csv', `${HEADER}\n${GOOD_ROWS[0]}\n2026-01-05T09:00:01Z,r9,s1,a,m,200,x,2,3,4\n${GOOD_ROWS[1]}\n`);
    const run = runScript('cli.ts', [file, '--skip-bad-rows', '--json']);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/skipped 1 bad row/);
    expect(run.stderr).toMatch(/some-bad\.csv:3:7: column "input_tokens"/);
    const report = JSON.parse(run.stdout) as { trace: { skippedRows: number; requests: number } };
    expect(report.trace).toMatchObject({ skippedRows: 1, requests: 2 });
  });

  it('should explain how to run it', () => {
    const run = runScript('cli.ts', ['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Usage: pnpm sim <trace\.csv>/);
    for (const flag of ['--strategy', '--accounts', '--sticky-ttl', '--expiry-soon', '--max-wait', '--json', '--html', '--skip-bad-rows']) {
      expect(run.stdout).toContain(flag);
    }
  });
});

describe('pnpm sim:gen', () => {
  it('should generate a trace the simulator reads, and refuse bad arguments', () => {
    const out = join(dir, 'gen.csv');
    const run = runScript('gen-cli.ts', ['--out', out, '--accounts', '2', '--days', '1', '--seed', '3']);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/wrote .*gen\.csv: \d+ rows/);
    expect(runScript('cli.ts', [out, '--strategy', 'cushion']).code).toBe(0);
    expect(runScript('gen-cli.ts', ['--accounts', '2']).code).toBe(2);
  });
});
