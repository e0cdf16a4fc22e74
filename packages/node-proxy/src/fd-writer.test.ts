import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { batchedFdWriter, type FdWriteOps } from './fd-writer.js';

/** Fake fs calls: each write answers from `script` (an errno code, a byte count, or all bytes). */
function fakeOps(script: Array<string | number | 'all'> = []): FdWriteOps & { written: string; syncCalls: number; pendingCallbacks: Array<() => void> } {
  const fake = {
    written: '',
    syncCalls: 0,
    pendingCallbacks: [] as Array<() => void>,
    write(_fd: number, buffer: Buffer, callback: (error: NodeJS.ErrnoException | null, written: number) => void): void {
      const step = script.shift() ?? 'all';
      // Completed later, like a real write on the thread pool.
      fake.pendingCallbacks.push(() => {
        if (typeof step === 'string' && step !== 'all') return callback(Object.assign(new Error(step), { code: step }), 0);
        const n = step === 'all' ? buffer.length : step;
        fake.written += buffer.subarray(0, n).toString();
        callback(null, n);
      });
    },
    writeSync(_fd: number, buffer: Buffer): number {
      fake.syncCalls++;
      const step = script.shift() ?? 'all';
      if (typeof step === 'string' && step !== 'all') throw Object.assign(new Error(step), { code: step });
      const n = step === 'all' ? buffer.length : step;
      fake.written += buffer.subarray(0, n).toString();
      return n;
    },
  };
  return fake;
}

function settle(ops: { pendingCallbacks: Array<() => void> }): void {
  while (ops.pendingCallbacks.length > 0) ops.pendingCallbacks.shift()?.();
}

describe('batchedFdWriter', () => {
  it('should hold lines until a batch is full or flushed, and write them in order', () => {
    const ops = fakeOps();
    const out = batchedFdWriter({ fd: 2, minBytes: 10, ops });
    out.write('ab\n');
    settle(ops);
    expect(ops.written).toBe('');
    out.write('cdefghij\n');
    settle(ops);
    expect(ops.written).toBe('ab\ncdefghij\n');
    out.write('k\n');
    out.flush();
    settle(ops);
    expect(ops.written).toBe('ab\ncdefghij\nk\n');
  });

  it('should finish a short write before the next batch', () => {
    const ops = fakeOps([3, 'all']);
    const out = batchedFdWriter({ fd: 2, minBytes: 1, ops });
    out.write('hello\n');
    out.write('world\n');
    settle(ops);
    out.flush();
    settle(ops);
    expect(ops.written).toBe('hello\nworld\n');
  });

  it('should turn itself off on EPIPE: later lines are dropped and the exit flush does not write', () => {
    const ops = fakeOps(['EPIPE']);
    const out = batchedFdWriter({ fd: 2, minBytes: 1, ops });
    out.write('one\n');
    settle(ops);
    expect(out.broken).toBe(true);
    out.write('two\n');
    out.flush();
    settle(ops);
    out.flushSync();
    expect(ops.written).toBe('');
    expect(ops.syncCalls).toBe(0);
  });

  it('should give up at once when the exit flush meets a broken pipe (the hang of sonic-boom 4)', () => {
    // Every write fails: a flushSync that retried would never return.
    const ops = fakeOps(Array.from({ length: 1000 }, () => 'EPIPE'));
    const out = batchedFdWriter({ fd: 2, ops });
    out.write('stopped\n');
    out.flushSync();
    expect(ops.syncCalls).toBe(1);
    expect(out.broken).toBe(true);
  });

  it('should keep a batch that met EAGAIN and write it with the next flush', () => {
    const ops = fakeOps(['EAGAIN', 'all']);
    const out = batchedFdWriter({ fd: 2, minBytes: 1, ops });
    out.write('kept\n');
    settle(ops);
    expect(out.broken).toBe(false);
    out.write('next\n');
    settle(ops);
    expect(ops.written).toBe('kept\nnext\n');
  });

  it('should stop retrying EAGAIN at exit after a bounded number of tries', () => {
    const ops = fakeOps(Array.from({ length: 1000 }, () => 'EAGAIN'));
    const out = batchedFdWriter({ fd: 2, ops });
    out.write('line\n');
    out.flushSync();
    expect(ops.syncCalls).toBeLessThan(100);
    expect(out.broken).toBe(true);
  });

  it('should drop lines beyond maxPendingBytes while the reader does not keep up', () => {
    const ops = fakeOps();
    const out = batchedFdWriter({ fd: 2, minBytes: 1000, maxPendingBytes: 10, ops });
    out.write('12345\n');
    out.write('67890\n');
    out.write('abc\n');
    out.flushSync();
    expect(ops.written).toBe('12345\nabc\n');
  });

  test.prop([
    fc.array(fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 300 }), fc.integer({ min: 1, max: 600 }).map((n) => '€'.repeat(n))), { maxLength: 60 }),
    fc.array(fc.oneof(fc.constant<'all'>('all'), fc.integer({ min: 1, max: 50 }), fc.constant('EAGAIN')), { maxLength: 40 }),
    fc.integer({ min: 1, max: 200 }),
    fc.array(fc.boolean(), { maxLength: 60 }),
  ])('should write every byte of every line, in order, whatever the batch size, short writes and EAGAINs', (lines, script, minBytes, flushes) => {
    const out: Buffer[] = [];
    const callbacks: Array<() => void> = [];
    const steps = [...script];
    const ops: FdWriteOps = {
      write(_fd, buffer, callback) {
        const step = steps.shift() ?? 'all';
        callbacks.push(() => {
          if (step === 'EAGAIN') return callback(Object.assign(new Error(step), { code: step }), 0);
          const n = step === 'all' ? buffer.length : Math.min(step, buffer.length);
          out.push(Buffer.from(buffer.subarray(0, n)));
          callback(null, n);
        });
      },
      writeSync(_fd, buffer) {
        out.push(Buffer.from(buffer));
        return buffer.length;
      },
    };
    const writer = batchedFdWriter({ fd: 2, minBytes, maxPendingBytes: 1 << 30, ops });
    lines.forEach((line, k) => {
      writer.write(line);
      if (flushes[k] === true) writer.flush();
      // Some writes complete before the next line, some after.
      if (k % 3 === 0) callbacks.shift()?.();
    });
    while (callbacks.length > 0) callbacks.shift()?.();
    writer.flushSync();
    expect(Buffer.concat(out).equals(Buffer.from(lines.join('')))).toBe(true);
  });
});
