/**
 * @module
 * `shunt status` as a person reads it: one card per account with its plan, state, pinned and
 * last-used markers, and a headroom bar per window with the time to its reset. Pure: the report,
 * the clock and whether to colour come in as arguments, so it is tested without a terminal.
 */
import type { AccountStatus, ProxyStatus } from './control.js';

/** Options for {@link formatStatus}. */
export interface StatusViewOptions {
  /** Now, in epoch milliseconds (reset countdowns are computed from it). */
  readonly nowMs: number;
  /**
   * Colour with ANSI escapes; the CLI sets it only when stdout is a TTY (and NO_COLOR is unset).
   * @default false
   */
  readonly color?: boolean | undefined;
}

/** Width of a headroom bar, in cells. */
export const BAR_WIDTH = 20;

/** Render a `/status` report as text. */
export function formatStatus(report: ProxyStatus, options: StatusViewOptions): string {
  const paint = options.color === true ? ansi : plain;
  const lines = [
    `shunt ${report.version} · strategy ${report.strategy.name}${report.strategy.source === 'override' ? ' (override)' : ''}` +
      ` · ${report.in_flight} in flight · ${report.held} held`,
  ];
  if (report.pinned_account !== null) lines.push(paint('yellow', `◆ pinned to ${report.pinned_account} (shunt pin auto to undo)`));
  for (const account of report.accounts) lines.push('', ...card(account, report, options.nowMs, paint));
  return `${lines.join('\n')}\n`;
}

/** The filled part of a bar is the headroom left: a full bar is an untouched window. */
export function headroomBar(utilization: number): { readonly filled: number; readonly empty: number } {
  const used = Math.round(Math.min(1, Math.max(0, utilization)) * BAR_WIDTH);
  return { filled: BAR_WIDTH - used, empty: used };
}

/** A duration as `45s`, `12m`, `3h 5m` or `2d 4h`. */
export function formatCountdown(ms: number): string {
  const secs = Math.max(0, Math.round(ms / 1000));
  if (secs < 60) return `${secs}s`;
  if (secs < 3600) return `${Math.floor(secs / 60)}m`;
  if (secs < 86_400) return `${Math.floor(secs / 3600)}h ${Math.floor((secs % 3600) / 60)}m`;
  return `${Math.floor(secs / 86_400)}d ${Math.floor((secs % 86_400) / 3600)}h`;
}

type Colour = 'green' | 'yellow' | 'red' | 'dim' | 'bold';
type Paint = (colour: Colour, text: string) => string;

function card(account: AccountStatus, report: ProxyStatus, nowMs: number, paint: Paint): string[] {
  const markers = [
    account.name === report.pinned_account ? paint('yellow', '[pinned]') : '',
    account.name === report.last_used_account ? paint('dim', '[last used]') : '',
  ].filter((m) => m !== '');
  const lines = [`${paint('bold', account.name)}  ${account.plan_type}  ${stateText(account, nowMs, paint)}${markers.length > 0 ? `  ${markers.join(' ')}` : ''}`];
  const windows = [
    window('5h', account.utilization_5h, account.reset_5h, account.status_5h, nowMs, paint),
    window('7d', account.utilization_7d, account.reset_7d, account.status_7d, nowMs, paint),
  ].filter((line): line is string => line !== null);
  if (windows.length === 0) lines.push(paint('dim', '  no quota data yet: it appears after the first request'));
  lines.push(...windows);
  return lines;
}

function stateText(account: AccountStatus, nowMs: number, paint: Paint): string {
  switch (account.status) {
    case 'available':
      return paint('green', '✓ available');
    case 'cooling':
      return paint('yellow', `↻ cooling, back in ${formatCountdown(account.cooldown_until_ms - nowMs)}`);
    case 'exhausted': {
      const backMs = exhaustedUntilMs(account);
      return paint('red', backMs > nowMs ? `✗ exhausted, back in ${formatCountdown(backMs - nowMs)}` : '✗ exhausted until its window resets');
    }
    case 'needs_login':
      return paint('red', `✗ needs login: run \`shunt login ${account.name}\`, then restart`);
    case 'disabled':
      return paint('red', `✗ disabled${account.disabled_reason === null ? '' : ` (${account.disabled_reason})`}`);
  }
}

/** When an exhausted account is back: its rejected windows' resets, or the cooldown it took for them if later. */
function exhaustedUntilMs(account: AccountStatus): number {
  const resets = [
    isRejected(account.status_5h) ? account.reset_5h : null,
    isRejected(account.status_7d) ? account.reset_7d : null,
  ].map((secs) => (secs === null ? 0 : secs * 1000));
  return Math.max(account.cooldown_until_ms, ...resets);
}

function isRejected(status: string | null): boolean {
  // As the store reads it: Anthropic sends `rejected`, the Rust shunt wrote `exhausted`.
  return status === 'rejected' || status === 'exhausted';
}

function window(
  name: '5h' | '7d',
  utilization: number,
  resetSecs: number | null,
  status: string | null,
  nowMs: number,
  paint: Paint,
): string | null {
  if (resetSecs === null && utilization === 0) return null;
  const { filled, empty } = headroomBar(utilization);
  const colour: Colour = utilization >= 0.8 ? 'red' : utilization >= 0.5 ? 'yellow' : 'green';
  const bar = paint(colour, '█'.repeat(filled)) + paint('dim', '░'.repeat(empty));
  const left = isRejected(status) ? paint('red', 'rejected') : `${Math.max(0, 100 - Math.round(utilization * 100))}% left`;
  const reset = resetSecs === null ? '' : `  ·  resets in ${formatCountdown(resetSecs * 1000 - nowMs)}`;
  return `  ${name} ${bar} ${left}${reset}`;
}

const CODES: Record<Colour, string> = { green: '32', yellow: '33', red: '31', dim: '2', bold: '1' };

function ansi(colour: Colour, text: string): string {
  return text === '' ? text : `\u001b[${CODES[colour]}m${text}\u001b[0m`;
}

function plain(_colour: Colour, text: string): string {
  return text;
}
