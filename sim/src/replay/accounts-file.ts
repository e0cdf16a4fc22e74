/**
 * @module
 * `--accounts FILE`: the pool to simulate, one account per row (`name,plan[,weekly_reset]`).
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { parseCell, INVALID } from '../trace/cells.js';
import { TraceError } from '../trace/errors.js';
import { PLAN_NAMES, parsePlan } from '../model/plans.js';
import type { AccountSpec } from './simulate.js';

/**
 * Read an accounts file: a CSV with a header row naming `name` and `plan` (pro, team, max5,
 * max20) and optionally `weekly_reset` (ISO-8601 or epoch ms: any weekly reset of the account).
 * Throws a TraceError naming file, line and column on any problem.
 */
export async function readAccountsFile(file: string): Promise<AccountSpec[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new TraceError(file, {}, `cannot read the accounts file: ${code === 'ENOENT' ? 'no such file' : String(error)}`);
  }
  let records: string[][];
  try {
    records = parse(text, { skip_empty_lines: true, comment: '#', comment_no_infix: true, bom: true }) as string[][];
  } catch (error) {
    const line = (error as { lines?: number }).lines;
    throw new TraceError(file, { line }, `malformed accounts file: ${(error as Error).message}`);
  }
  const header = records[0];
  if (header === undefined) throw new TraceError(file, { line: 1 }, 'empty accounts file: expected a header row "name,plan"');
  const names = header.map((h) => h.trim().toLowerCase());
  const nameAt = names.indexOf('name');
  const planAt = names.indexOf('plan');
  const resetAt = names.indexOf('weekly_reset');
  if (nameAt === -1) throw new TraceError(file, { line: 1 }, 'missing required column "name"');
  if (planAt === -1) throw new TraceError(file, { line: 1 }, 'missing required column "plan"');
  const out: AccountSpec[] = [];
  const seen = new Set<string>();
  // Line numbers assume one line per record, which holds for this simple format.
  const lines = lineNumbersOfRecords(text);
  records.slice(1).forEach((record, i) => {
    const line = lines[i + 1];
    const name = (record[nameAt] ?? '').trim();
    if (name === '') throw new TraceError(file, { line, column: nameAt + 1 }, 'empty account name');
    if (seen.has(name)) throw new TraceError(file, { line, column: nameAt + 1 }, `duplicate account "${name}"`);
    seen.add(name);
    const rawPlan = (record[planAt] ?? '').trim();
    const plan = parsePlan(rawPlan);
    if (plan === undefined) {
      throw new TraceError(file, { line, column: planAt + 1 }, `unknown plan ${JSON.stringify(rawPlan)}: expected one of ${PLAN_NAMES.join(', ')}`);
    }
    let weeklyResetMs: number | undefined;
    const rawReset = resetAt === -1 ? '' : (record[resetAt] ?? '').trim();
    if (rawReset !== '') {
      const parsed = parseCell('timestamp', rawReset);
      if (parsed === INVALID || typeof parsed !== 'number') {
        throw new TraceError(file, { line, column: resetAt + 1 }, `weekly_reset: expected ISO-8601 or epoch milliseconds, got ${JSON.stringify(rawReset)}`);
      }
      weeklyResetMs = parsed;
    }
    out.push(weeklyResetMs === undefined ? { name, plan } : { name, plan, weeklyResetMs });
  });
  if (out.length === 0) throw new TraceError(file, { line: 2 }, 'the accounts file names no accounts');
  return out;
}

/** 1-based line of each non-empty, non-comment line (one record per line). */
function lineNumbersOfRecords(text: string): number[] {
  const out: number[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').replace(/^\uFEFF/, '');
    if (line.trim() === '' || line.startsWith('#')) return;
    out.push(i + 1);
  });
  return out;
}
