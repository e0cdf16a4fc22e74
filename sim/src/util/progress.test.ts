import { describe, expect, it } from 'vitest';
import { createProgressBar } from './progress.js';

/** A bar on a fake stream, with a clock the test moves. */
function bar(): { update: (done: number, total: number, phase?: string) => void; advance: (ms: number) => void; last: () => string; writes: string[] } {
  let t = 0;
  const writes: string[] = [];
  const progress = createProgressBar({ write: (text: string) => writes.push(text) > 0 }, 1_000, () => t);
  return { update: progress.update, advance: (ms) => (t += ms), last: () => writes.at(-1) ?? '', writes };
}

describe('createProgressBar', () => {
  it('should stay quiet for the first second, then show the phase, the rate and an ETA', () => {
    const b = bar();
    b.update(1_048_576, 10_485_760, 'warm-up: reading');
    expect(b.writes).toEqual([]);
    b.advance(2_000);
    b.update(2_097_152, 10_485_760, 'warm-up: reading');
    // 2 MiB in 2 s: 1 MiB/s, 8 MiB left: 8 s.
    expect(b.last()).toMatch(/\] {2}20% {2}2\.0\/10\.0 MB {2}1\.0 MB\/s {2}ETA 8s {2}warm-up: reading$/);
  });

  it('should redraw at once when the phase changes, even within 100 ms, so a long calibration is named', () => {
    const b = bar();
    b.advance(1_500);
    b.update(3_145_728, 10_485_760, 'warm-up: reading');
    b.advance(10);
    b.update(3_145_728, 10_485_760, 'warm-up: reading');
    expect(b.writes).toHaveLength(1);
    b.update(3_145_728, 10_485_760, 'warm-up: calibrating and replaying');
    expect(b.writes).toHaveLength(2);
    expect(b.last()).toMatch(/warm-up: calibrating and replaying$/);
  });

  it('should show minutes in a long ETA, and none once everything is read', () => {
    const b = bar();
    b.advance(10_000);
    b.update(1_048_576, 104_857_600, 'replaying');
    expect(b.last()).toMatch(/ETA 16m30s {2}replaying$/);
    b.advance(1_000);
    b.update(104_857_600, 104_857_600, 'replaying');
    expect(b.last()).toMatch(/ETA – {2}replaying$/);
  });
});
