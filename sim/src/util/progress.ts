/**
 * @module
 * A progress bar on stderr, shown only once a replay has run for more than a second (short runs
 * stay quiet). Wall-clock time is used here only: it never reaches the replay.
 */

/** A progress bar. */
export interface ProgressBar {
  /** Report bytes read of the total. */
  readonly update: (done: number, total: number) => void;
  /** Erase the bar. */
  readonly done: () => void;
}

/** Create a progress bar drawing on `stream` (a TTY). */
export function createProgressBar(stream: NodeJS.WriteStream, delayMs = 1_000): ProgressBar {
  const startedMs = Date.now();
  let drawn = false;
  let lastDrawMs = 0;
  return {
    update(done, total) {
      const nowMs = Date.now();
      if (nowMs - startedMs < delayMs || nowMs - lastDrawMs < 100) return;
      lastDrawMs = nowMs;
      drawn = true;
      const fraction = total > 0 ? Math.min(1, done / total) : 0;
      const width = 30;
      const filled = Math.round(fraction * width);
      const mb = (bytes: number): string => (bytes / 1_048_576).toFixed(1);
      stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%  ${mb(done)}/${mb(total)} MB  `);
    },
    done() {
      if (drawn) stream.write('\r\u001b[2K');
    },
  };
}
