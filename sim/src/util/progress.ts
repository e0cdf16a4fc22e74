/**
 * @module
 * A progress bar on stderr, shown only once a replay has run for more than a second (short runs
 * stay quiet). It names the phase (the warm-up reads rows, then calibrates and replays them in one
 * go, which moves no byte for seconds), and shows the read rate and an ETA. Wall-clock time is
 * used here only: it never reaches the replay.
 */

/** A progress bar. */
export interface ProgressBar {
  /** Report bytes read of the total, and the phase under way (drawn at once when it changes). */
  readonly update: (done: number, total: number, phase?: string) => void;
  /** Erase the bar. */
  readonly done: () => void;
}

/** Create a progress bar drawing on `stream` (a TTY); `now` is for tests. */
export function createProgressBar(stream: Pick<NodeJS.WriteStream, 'write'>, delayMs = 1_000, now: () => number = Date.now): ProgressBar {
  const startedMs = now();
  let drawn = false;
  let lastDrawMs = 0;
  let lastPhase: string | undefined;
  return {
    update(done, total, phase) {
      const nowMs = now();
      const phaseChanged = phase !== lastPhase;
      lastPhase = phase;
      if (nowMs - startedMs < delayMs || (!phaseChanged && nowMs - lastDrawMs < 100)) return;
      lastDrawMs = nowMs;
      drawn = true;
      const fraction = total > 0 ? Math.min(1, done / total) : 0;
      const width = 30;
      const filled = Math.round(fraction * width);
      const mb = (bytes: number): string => (bytes / 1_048_576).toFixed(1);
      const bytesPerSec = done / Math.max(0.001, (nowMs - startedMs) / 1000);
      const eta = bytesPerSec > 0 && done < total ? `ETA ${formatSecs((total - done) / bytesPerSec)}` : 'ETA –';
      stream.write(
        `\r\u001b[2K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%  ${mb(done)}/${mb(total)} MB  ${mb(bytesPerSec)} MB/s  ${eta}${phase === undefined ? '' : `  ${phase}`}`,
      );
    },
    done() {
      if (drawn) stream.write('\r\u001b[2K');
    },
  };
}

function formatSecs(secs: number): string {
  const s = Math.ceil(secs);
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
