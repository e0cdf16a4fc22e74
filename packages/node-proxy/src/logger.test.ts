import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { jsonLogger, REDACTED_FIELDS, silentLogger } from './logger.js';

describe('jsonLogger', () => {
  it('should write one JSON object per line and drop records below its level', () => {
    const lines: string[] = [];
    const logger = jsonLogger({ level: 'info', write: (line) => lines.push(line), now: () => 0 });
    logger.debug('hidden');
    logger.info('shown', { account: 'a' });
    logger.error('bad');
    expect(lines.every((line) => line.endsWith('\n'))).toBe(true);
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([
      { level: 'info', time: '1970-01-01T00:00:00.000Z', account: 'a', msg: 'shown' },
      { level: 'error', time: '1970-01-01T00:00:00.000Z', msg: 'bad' },
    ]);
  });

  it('should say which levels it writes, so callers can skip building dropped records', () => {
    const logger = jsonLogger({ level: 'info', write: () => {} });
    expect(logger.isLevelEnabled?.('debug')).toBe(false);
    expect(logger.isLevelEnabled?.('info')).toBe(true);
    expect(logger.isLevelEnabled?.('error')).toBe(true);
    expect(silentLogger.isLevelEnabled?.('error')).toBe(false);
  });

  it('should give every line the time of its own millisecond', () => {
    const lines: string[] = [];
    let t = 0;
    const logger = jsonLogger({ write: (line) => lines.push(line), now: () => t });
    logger.info('one');
    logger.info('two');
    t = 1;
    logger.info('three');
    expect(lines.map((line) => (JSON.parse(line) as { time: string }).time)).toEqual([
      '1970-01-01T00:00:00.000Z',
      '1970-01-01T00:00:00.000Z',
      '1970-01-01T00:00:00.001Z',
    ]);
  });

  test.prop([fc.array(fc.integer({ min: -62_135_596_800_000, max: 253_402_300_799_999 }), { minLength: 1, maxLength: 20 })])(
    'should write the same time as Date#toISOString for any sequence of clock readings',
    (readings) => {
      const lines: string[] = [];
      let t = 0;
      const logger = jsonLogger({ write: (line) => lines.push(line), now: () => t });
      // Neighbouring milliseconds and seconds too, where a cached second could go stale.
      const clock = readings.flatMap((ms) => [ms, ms + 1, ms + 999, ms + 1000]);
      for (const ms of clock) {
        t = ms;
        logger.info('tick');
      }
      expect(lines.map((line) => (JSON.parse(line) as { time: string }).time)).toEqual(clock.map((ms) => new Date(ms).toISOString()));
    },
  );

  it('should survive fields that cannot be serialised', () => {
    const lines: string[] = [];
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    jsonLogger({ write: (line) => lines.push(line) }).warn('cyclic', cyclic);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ msg: 'cyclic', level: 'warn' });
  });

  it('should redact credential fields (top level and in headers) even if a call site passes one', () => {
    const lines: string[] = [];
    const logger = jsonLogger({ write: (line) => lines.push(line) });
    logger.warn('oops', { authorization: 'Bearer sk-canary-1', headers: { 'x-api-key': 'sk-canary-2' }, refresh_token: 'rt-canary-3' });
    const text = lines.join('');
    expect(text).not.toMatch(/canary/);
    expect(JSON.parse(text)).toMatchObject({ authorization: '[redacted]', headers: { 'x-api-key': '[redacted]' }, refresh_token: '[redacted]' });
  });

  const fieldName = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('authorization', 'x-api-key', 'headers', 'cookie', 'id')).filter((k) => !['level', 'time', 'msg', '__proto__'].includes(k));
  test.prop([fc.dictionary(fieldName, fc.oneof(fc.jsonValue(), fc.dictionary(fieldName, fc.jsonValue(), { maxKeys: 4 }))), fc.string()])(
    'should write any fields as JSON.stringify would, credential names redacted at the top level and one object down',
    (fields, message) => {
      const lines: string[] = [];
      jsonLogger({ write: (line) => lines.push(line), now: () => 0 }).info(message, fields);
      const redact = (o: Record<string, unknown>): Record<string, unknown> =>
        Object.fromEntries(Object.entries(o).map(([k, v]) => [k, REDACTED_FIELDS.includes(k) ? '[redacted]' : v]));
      const expected = Object.fromEntries(
        Object.entries(redact(fields)).map(([k, v]) => [k, typeof v === 'object' && v !== null && !Array.isArray(v) ? redact(v as Record<string, unknown>) : v]),
      );
      expect(lines).toHaveLength(1);
      expect(lines[0]?.endsWith('}\n')).toBe(true);
      expect(JSON.parse(lines[0] as string)).toEqual({ level: 'info', time: '1970-01-01T00:00:00.000Z', ...JSON.parse(JSON.stringify(expected)), msg: message });
    },
  );
});
