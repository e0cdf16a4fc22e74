import { describe, expect, it } from 'vitest';
import { formatDurationMs, parseDurationMs } from './duration.js';

describe('parseDurationMs', () => {
  it('should read durations with units, alone or combined', () => {
    expect(parseDurationMs('600s')).toBe(600_000);
    expect(parseDurationMs('10m')).toBe(600_000);
    expect(parseDurationMs('1h30m')).toBe(5_400_000);
    expect(parseDurationMs('250ms')).toBe(250);
    expect(parseDurationMs('1.5h')).toBe(5_400_000);
    expect(parseDurationMs('0')).toBe(0);
  });

  it('should refuse a number without a unit and anything else', () => {
    for (const text of ['600', '', 'soon', '10 m', '-5s', 'm']) expect(parseDurationMs(text)).toBeUndefined();
  });
});

describe('formatDurationMs', () => {
  it('should format compactly', () => {
    expect([850, 42_000, 425_000, 12_000_000, 187_200_000].map(formatDurationMs)).toEqual(['850ms', '42s', '7m05s', '3h20m', '2d04h']);
  });
});
