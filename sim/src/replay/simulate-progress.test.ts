import { strategies } from '@shunt/core';
import { describe, expect, it } from 'vitest';
import { HEADER, tempDir, writeTemp } from '../../test/helpers.js';
import { simulate } from './simulate.js';

const dir = tempDir();

describe('simulate progress', () => {
  it('should name the phase: reading the warm-up, calibrating and replaying it, then replaying', async () => {
    // About 3.7 MB (progress is reported every MiB read): the warm-up ends near 1.7 MB, between two reports.
    const rows = Array.from({ length: 32_000 }, (_, i) => {
      const ts = new Date(Date.UTC(2026, 0, 5, 9) + i * 1000).toISOString();
      return `${ts},r${i},s${i % 40},${i % 2 === 0 ? 'a' : 'b'},claude-sonnet-4-5,200,10,300,18000,2500,1200,0.${String(i % 90).padStart(2, '0')}`;
    });
    const file = writeTemp(dir, 'progress.csv', `${HEADER},duration_ms,util_5h\n${rows.join('\n')}\n`);
    const phases: string[] = [];
    let lastBytes = 0;
    await simulate({
      file,
      strategies: [strategies.maximus],
      routing: { stickyTtlMs: 600_000, expirySoonSecs: 1800, maxWaitMs: 600_000 },
      pool: { kind: 'trace', plan: 'max5' },
      warmupRows: 15_000,
      onProgress: (bytes, total, phase) => {
        expect(bytes).toBeGreaterThanOrEqual(lastBytes);
        expect(bytes).toBeLessThanOrEqual(total);
        lastBytes = bytes;
        if (phases.at(-1) !== phase) phases.push(phase);
      },
    });
    expect(phases).toEqual(['warm-up: reading', 'warm-up: calibrating and replaying', 'replaying']);
  });
});
