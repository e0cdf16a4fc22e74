import { describe, expect, it } from 'vitest';
import { jsonLogger } from './logger.js';

describe('jsonLogger', () => {
  it('should write one JSON object per line and drop records below its level', () => {
    const lines: string[] = [];
    const logger = jsonLogger({ level: 'info', write: (line) => lines.push(line), now: () => 0 });
    logger.debug('hidden');
    logger.info('shown', { account: 'a' });
    logger.error('bad');
    expect(lines).toEqual([
      '{"time":"1970-01-01T00:00:00.000Z","level":"info","msg":"shown","account":"a"}\n',
      '{"time":"1970-01-01T00:00:00.000Z","level":"error","msg":"bad"}\n',
    ]);
  });

  it('should survive fields that cannot be serialised', () => {
    const lines: string[] = [];
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    jsonLogger({ write: (line) => lines.push(line) }).warn('cyclic', cyclic);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ msg: 'cyclic', fields: 'unserialisable' });
  });
});
