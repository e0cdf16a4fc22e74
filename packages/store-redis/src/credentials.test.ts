// Shared credentials: sealed with AES-256-GCM (tampering and wrong keys are refused with a clear
// error), stored newest-generation-wins however writes interleave, locked with SET NX PX and
// released only by their holder; nothing readable in Redis.
import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { type RedisServer } from '../test/redis-server.js';
import { describeWithRedis, useRedisServer } from '../test/with-redis.js';
import {
  CredentialKeyError,
  credentialsKeyId,
  openSecret,
  parseCredentialsKey,
  redisCredentials,
  sealSecret,
  type SharedCredentials,
} from './credentials.js';

const KEY = new Uint8Array(randomBytes(32));
const OTHER_KEY = new Uint8Array(randomBytes(32));

describe('sealSecret and openSecret', () => {
  it('should open what it sealed, for any value and generation', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.integer({ min: 1, max: 2 ** 40 }), fc.string({ minLength: 1 }), (value, generation, name) => {
        const blob = sealSecret('p:', name, { generation, value }, KEY);
        expect(openSecret('p:', name, blob, [KEY])).toEqual({ generation, value });
        // The value is never in the blob as it is (base64 of ciphertext only).
        if (value.length >= 4) expect(blob).not.toContain(value);
      }),
    );
  });

  it('should refuse a blob with any one character changed', () => {
    const blob = sealSecret('p:', 'max', { generation: 7, value: JSON.stringify({ refresh_token: 'sk-ant-ort01-SECRET' }) }, KEY);
    fc.assert(
      fc.property(fc.nat({ max: blob.length - 1 }), fc.constantFrom(...'0123456789abcdefABCDEF-_.x'), (at, replacement) => {
        fc.pre(blob[at] !== replacement);
        const tampered = blob.slice(0, at) + replacement + blob.slice(at + 1);
        expect(() => openSecret('p:', 'max', tampered, [KEY])).toThrow(CredentialKeyError);
      }),
    );
  });

  it('should refuse a blob whose last character differs only in spare base64 bits, or whose generation gained a zero', () => {
    // Found by the property above (CI, seed -1209571944): base64 decoding ignores the last
    // character's unused low bits, so this one-character change used to open.
    const blob = sealSecret('p:', 'max', { generation: 7, value: 'tokens' }, KEY);
    const parts = blob.split('.');
    const tag = parts[5] as string;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(tag.at(-1) as string);
    // A 16-byte tag is 22 characters: the last one carries 2 bits and 4 spare ones.
    const sibling = alphabet[last ^ 1] as string;
    const spare = [...parts.slice(0, 5), tag.slice(0, -1) + sibling].join('.');
    expect(Buffer.from(spare.split('.')[5] as string, 'base64url')).toEqual(Buffer.from(tag, 'base64url'));
    expect(() => openSecret('p:', 'max', spare, [KEY])).toThrow(/failed authentication/);
    expect(() => openSecret('p:', 'max', blob.replace('v1.7.', 'v1.07.'), [KEY])).toThrow(/failed authentication/);
    expect(openSecret('p:', 'max', blob, [KEY]).value).toBe('tokens');
  });

  it('should refuse a blob moved to another account, another prefix, or given another generation', () => {
    const blob = sealSecret('p:', 'max', { generation: 3, value: 'tokens' }, KEY);
    expect(() => openSecret('p:', 'other', blob, [KEY])).toThrow(/failed authentication/);
    expect(() => openSecret('q:', 'max', blob, [KEY])).toThrow(/failed authentication/);
    expect(() => openSecret('p:', 'max', blob.replace('v1.3.', 'v1.9.'), [KEY])).toThrow(/failed authentication/);
  });

  it('should name both key ids and the setting when the key is wrong, and open with a previous key', () => {
    const blob = sealSecret('p:', 'max', { generation: 1, value: 'tokens' }, OTHER_KEY);
    expect(() => openSecret('p:', 'max', blob, [KEY])).toThrow(
      new RegExp(`sealed with key ${credentialsKeyId(OTHER_KEY)}, and this instance has ${credentialsKeyId(KEY)}: .*state\\.credentials_key`),
    );
    expect(openSecret('p:', 'max', blob, [KEY, OTHER_KEY]).value).toBe('tokens');
  });

  it('should read a key as hex or base64 and refuse anything else without repeating it', () => {
    const bytes = randomBytes(32);
    expect(parseCredentialsKey(bytes.toString('hex'), 'k')).toEqual(new Uint8Array(bytes));
    expect(parseCredentialsKey(bytes.toString('base64'), 'k')).toEqual(new Uint8Array(bytes));
    expect(parseCredentialsKey(` ${bytes.toString('base64url')}\n`, 'k')).toEqual(new Uint8Array(bytes));
    for (const bad of ['', 'short-secret-value', bytes.toString('hex').slice(2), randomBytes(16).toString('base64')]) {
      let message = '';
      try {
        parseCredentialsKey(bad, 'SHUNT_CREDENTIALS_KEY');
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/^SHUNT_CREDENTIALS_KEY must be 32 random bytes/);
      if (bad !== '') expect(message).not.toContain(bad);
    }
  });
});

let server: RedisServer;
const open: SharedCredentials[] = [];

function shared(keyPrefix: string, key = KEY, previousKeys: Uint8Array[] = []): SharedCredentials {
  const credentials = redisCredentials({ url: server.url, keyPrefix, key, previousKeys });
  open.push(credentials);
  return credentials;
}

describeWithRedis('redisCredentials on a real redis-server', () => {
  useRedisServer(open, (started) => {
    server = started;
  });

  it('should keep the newest generation whatever order the writes of several instances land in', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 12 }), fc.scheduler(), async (generations, s) => {
        const prefix = `gen:${randomUUID()}:`;
        const instances = [shared(prefix), shared(prefix), shared(prefix)];
        const writes = generations.map((generation, i) =>
          s.schedule(Promise.resolve(), `write ${generation}`).then(() => (instances[i % 3] as SharedCredentials).write('max', { generation, value: `v${generation}` })),
        );
        await s.waitAll();
        const results = await Promise.all(writes);
        const top = Math.max(...generations);
        expect(await (instances[0] as SharedCredentials).read('max')).toEqual({ generation: top, value: `v${top}` });
        // A write is refused exactly when the stored generation was already as new, and then says what won.
        for (const result of results) if (result !== null) expect(result.generation).toBeGreaterThanOrEqual(1);
        await Promise.all(open.splice(0).map((c) => c.close()));
      }),
      { numRuns: 15 },
    );
  });

  it('should store nothing readable: the raw hash holds only the sealed blob', async () => {
    const prefix = `raw:${randomUUID()}:`;
    const secret = JSON.stringify({ access_token: 'sk-ant-oat01-PLAIN', refresh_token: 'sk-ant-ort01-PLAIN' });
    await shared(prefix).write('max', { generation: 1, value: secret });
    const raw = new Redis(server.url);
    try {
      const dump = JSON.stringify(await raw.hgetall(`${prefix}credentials`));
      expect(dump).toMatch(/^\{"max":"v1\.1\.[0-9a-f]{8}\./);
      expect(dump).not.toContain('PLAIN');
      expect(dump).not.toContain('sk-ant');
    } finally {
      raw.disconnect();
    }
  });

  it('should refuse with a clear error what another key sealed, and read it once given as a previous key', async () => {
    const prefix = `key:${randomUUID()}:`;
    await shared(prefix, OTHER_KEY).write('max', { generation: 1, value: 'tokens' });
    await expect(shared(prefix, KEY).read('max')).rejects.toThrow(/sealed with key [0-9a-f]{8}, and this instance has/);
    const rotated = shared(prefix, KEY, [OTHER_KEY]);
    expect(await rotated.read('max')).toEqual({ generation: 1, value: 'tokens' });
    // The next write (a rotation) seals with the new key: the old key alone no longer opens it.
    expect(await rotated.write('max', { generation: 2, value: 'rotated' })).toBeNull();
    await expect(shared(prefix, OTHER_KEY).read('max')).rejects.toBeInstanceOf(CredentialKeyError);
  });

  it('should give the lock to one instance at a time and let only its holder release it', async () => {
    const prefix = `lock:${randomUUID()}:`;
    const [a, b] = [shared(prefix), shared(prefix)];
    const held = await a.lock('max', 200);
    expect(held).not.toBeNull();
    expect(await b.lock('max', 5_000)).toBeNull();
    // a's lock expires; b takes it; a's late release must not free b's lock.
    let next = null;
    while (next === null) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      next = await b.lock('max', 5_000);
    }
    expect(await held?.release()).toBe(false);
    expect(await a.lock('max', 5_000)).toBeNull();
    expect(await next.release()).toBe(true);
    expect(await a.lock('max', 5_000)).not.toBeNull();
  });

  it('should fail a call within the command timeout when Redis hangs (SIGSTOP), and work again after SIGCONT', async () => {
    const prefix = `hang:${randomUUID()}:`;
    const credentials = shared(prefix);
    await credentials.write('max', { generation: 1, value: 'tokens' });
    const pid = server.pid();
    process.kill(pid, 'SIGSTOP');
    try {
      await expect(credentials.read('max')).rejects.toThrow(/timed out/i);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(await credentials.read('max')).toEqual({ generation: 1, value: 'tokens' });
  });
});
