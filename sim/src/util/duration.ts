/**
 * @module
 * Durations on the command line (`10m`, `600s`, `2h`, `1d`, `250ms`, `1h30m`).
 */

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parse a duration such as `600s`, `10m`, `1h30m` or `250ms` into milliseconds. A bare `0` is
 * accepted; any other number needs a unit, because "600" alone could mean seconds or milliseconds.
 * Returns undefined when the text is not a duration.
 */
export function parseDurationMs(text: string): number | undefined {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === '0') return 0;
  if (trimmed === '' || !/^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const match of trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) {
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  }
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

/** Format milliseconds compactly for humans: `850ms`, `42s`, `7m05s`, `3h20m`, `2d04h`. */
export function formatDurationMs(ms: number): string {
  if (!Number.isFinite(ms)) return '∞';
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(ms);
  if (abs < 1_000) return `${sign}${Math.round(abs)}ms`;
  const totalSecs = Math.round(abs / 1_000);
  if (totalSecs < 60) return `${sign}${totalSecs}s`;
  const totalMins = Math.floor(totalSecs / 60);
  if (totalMins < 60) return `${sign}${totalMins}m${pad2(totalSecs % 60)}s`;
  const totalHours = Math.floor(totalMins / 60);
  if (totalHours < 24) return `${sign}${totalHours}h${pad2(totalMins % 60)}m`;
  return `${sign}${Math.floor(totalHours / 24)}d${pad2(totalHours % 24)}h`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
