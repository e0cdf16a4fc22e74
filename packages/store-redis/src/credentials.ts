/**
 * @module
 * `redisCredentials()`: secrets shared by several proxies through Redis (an OAuth account's current
 * access and refresh tokens), encrypted at rest with AES-256-GCM, each stored with a generation
 * number that only ever grows, plus a cross-instance lock to refresh them under.
 *
 * Redis sees `v1.<generation>.<key id>.<iv>.<ciphertext>.<tag>` and nothing else: the generation is
 * in clear so a Lua script can refuse a write that is not newer (reconciliation by generation, not
 * by last writer), and it is bound into the authenticated data, so it cannot be changed without the
 * blob being refused. The key id (8 hex digits of a hash of the key) only tells which key sealed a
 * blob, so a wrong key is a clear error instead of a failed tag.
 *
 * It uses its own connection, with a short command timeout: a hung Redis (SIGSTOP, a dead link)
 * fails a call within `commandTimeoutMs` instead of holding a request.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisLock } from './redis-store.js';
import { RELEASE_LOCK } from './scripts.js';

/** One shared secret and its generation (1 for the first import, +1 for every rotation). */
export interface SharedSecret {
  readonly generation: number;
  /** The secret itself (a JSON text, for the proxy): encrypted before it leaves the process. */
  readonly value: string;
}

/** What the proxy needs to share credentials: read, write-if-newer, and a lock. */
export interface SharedCredentials {
  /** The account's secret, or null when Redis has none. Rejects when Redis cannot be reached, or with a {@link CredentialKeyError}. */
  read(name: string): Promise<SharedSecret | null>;
  /**
   * Store `secret` unless Redis already holds a generation as new or newer: resolves to null when
   * stored, else to the stored secret (which then wins).
   */
  write(name: string, secret: SharedSecret): Promise<SharedSecret | null>;
  /** Take the account's refresh lock (`SET NX PX` with a random token); null when another instance holds it. */
  lock(name: string, ttlMs: number): Promise<RedisLock | null>;
  /** Close the connection. */
  close(): Promise<void>;
}

/** Options for {@link redisCredentials}. */
export interface RedisCredentialsOptions {
  /**
   * The Redis server, as a `redis://` or `rediss://` URL.
   * @default "redis://127.0.0.1:6379"
   */
  readonly url?: string | undefined;
  /** Extra ioredis options, applied over the defaults (no offline queue, one retry, the command timeout). @default {} */
  readonly redis?: RedisOptions | undefined;
  /**
   * Prefix of the keys (the hash `<prefix>credentials`, the locks `<prefix>credlock:<name>`).
   * @default "shunt:"
   */
  readonly keyPrefix?: string | undefined;
  /** The key that seals new writes: 32 bytes (see {@link parseCredentialsKey}). */
  readonly key: Uint8Array;
  /** Older keys still accepted for reading, during a key rotation. @default [] */
  readonly previousKeys?: readonly Uint8Array[] | undefined;
  /**
   * The longest one Redis command may take before it fails (a hung server).
   * @default 1000
   */
  readonly commandTimeoutMs?: number | undefined;
}

/** A blob that cannot be opened: sealed with a key this instance does not have, tampered with, or malformed. */
export class CredentialKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialKeyError';
  }
}

/**
 * Read a credentials key: 64 hex digits, or the base64 / base64url of 32 bytes (`openssl rand
 * -base64 32`). Throws a message naming `label`, never the value.
 */
export function parseCredentialsKey(text: string, label: string): Uint8Array {
  const trimmed = text.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(trimmed)
    ? Buffer.from(trimmed, 'hex')
    : /^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)
      ? Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
      : null;
  if (bytes === null || bytes.length !== 32) {
    throw new CredentialKeyError(`${label} must be 32 random bytes as 64 hex digits or base64 (e.g. the output of \`openssl rand -base64 32\`)`);
  }
  return new Uint8Array(bytes);
}

/** The key's public id: 8 hex digits of a hash, enough to tell keys apart, nothing about the key. */
export function credentialsKeyId(key: Uint8Array): string {
  return createHash('sha256').update('shunt credentials key id\0').update(key).digest('hex').slice(0, 8);
}

/**
 * Seal `secret` for account `name` (AES-256-GCM, a random 96-bit IV; the prefix, the name, the
 * generation and the key id are authenticated with it).
 */
export function sealSecret(scope: string, name: string, secret: SharedSecret, key: Uint8Array): string {
  checkGeneration(secret.generation);
  const keyId = credentialsKeyId(key);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(scope, name, secret.generation, keyId));
  const ciphertext = Buffer.concat([cipher.update(secret.value, 'utf8'), cipher.final()]);
  return ['v1', String(secret.generation), keyId, iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

/** Decode base64url, refusing any text that is not exactly how the bytes encode. */
function canonicalBase64url(text: string): Buffer {
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) throw new Error('not canonical base64url');
  return bytes;
}

/** Open a blob made by {@link sealSecret}; throws a {@link CredentialKeyError} saying why it cannot. */
export function openSecret(scope: string, name: string, blob: string, keys: readonly Uint8Array[]): SharedSecret {
  const parts = blob.split('.');
  const [version, generationText = '', keyId = '', ivText = '', ciphertextText = '', tagText = ''] = parts;
  if (version !== 'v1' || parts.length !== 6 || !/^\d{1,15}$/.test(generationText)) {
    throw new CredentialKeyError(`the shared credentials of account ${JSON.stringify(name)} in Redis are not in a format this version reads`);
  }
  const key = keys.find((k) => credentialsKeyId(k) === keyId);
  if (key === undefined) {
    throw new CredentialKeyError(
      `the shared credentials of account ${JSON.stringify(name)} in Redis were sealed with key ${keyId}, and this instance has ${keys.map(credentialsKeyId).join(', ')}: ` +
        'give every instance the same state.credentials_key (or SHUNT_CREDENTIALS_KEY); during a rotation, the old one as credentials_key_previous',
    );
  }
  const generation = Number(generationText);
  try {
    // Only the exact text sealSecret wrote opens: base64 ignores a last character's spare bits and
    // skips unknown characters, and a generation may gain leading zeros, so without these checks
    // some altered blobs would still open.
    if (String(generation) !== generationText) throw new Error('generation not canonical');
    const decipher = createDecipheriv('aes-256-gcm', key, canonicalBase64url(ivText));
    decipher.setAAD(aad(scope, name, generation, keyId));
    decipher.setAuthTag(canonicalBase64url(tagText));
    const value = Buffer.concat([decipher.update(canonicalBase64url(ciphertextText)), decipher.final()]).toString('utf8');
    return { generation, value };
  } catch {
    throw new CredentialKeyError(`the shared credentials of account ${JSON.stringify(name)} in Redis failed authentication (tampered with, or corrupt): refused`);
  }
}

/**
 * Share secrets through Redis, encrypted, newest generation wins.
 *
 * @example
 * ```ts
 * const shared = redisCredentials({ url: 'redis://10.0.0.5:6379', key: parseCredentialsKey(process.env.SHUNT_CREDENTIALS_KEY!, 'SHUNT_CREDENTIALS_KEY') });
 * await shared.write('max', { generation: 1, value: JSON.stringify(tokens) });
 * ```
 */
export function redisCredentials(options: RedisCredentialsOptions): SharedCredentials {
  const prefix = options.keyPrefix ?? 'shunt:';
  const hash = `${prefix}credentials`;
  const keys = [options.key, ...(options.previousKeys ?? [])];
  for (const key of keys) if (key.length !== 32) throw new CredentialKeyError('redisCredentials: a key must be 32 bytes');
  const commandTimeoutMs = options.commandTimeoutMs ?? 1000;
  const client = new Redis(options.url ?? 'redis://127.0.0.1:6379', {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 2000,
    keepAlive: 5000,
    retryStrategy: (times) => Math.min(times * 100, 1000),
    ...options.redis,
  }) as Redis & {
    shuntWriteNewer(key: string, field: string, generation: string, blob: string): Promise<string | null>;
    shuntReleaseLock(key: string, token: string): Promise<number>;
  };
  client.on('error', () => {}); // every call reports its own failure
  client.defineCommand('shuntWriteNewer', { numberOfKeys: 1, lua: WRITE_NEWER });
  client.defineCommand('shuntReleaseLock', { numberOfKeys: 1, lua: RELEASE_LOCK });
  // Without an offline queue a command sent while (re)connecting fails at once: wait for the
  // connection, as long as a command may take, then let the command say what is wrong.
  const connected = async (): Promise<void> => {
    if (client.status === 'ready' || client.status === 'end') return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        client.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, commandTimeoutMs);
      client.once('ready', done);
    });
  };

  return {
    async read(name) {
      await connected();
      const blob = await client.hget(hash, name);
      return blob === null ? null : openSecret(prefix, name, blob, keys);
    },
    async write(name, secret) {
      await connected();
      const stored = await client.shuntWriteNewer(hash, name, String(secret.generation), sealSecret(prefix, name, secret, options.key));
      return stored === null ? null : openSecret(prefix, name, stored, keys);
    },
    async lock(name, ttlMs) {
      const lockKey = `${prefix}credlock:${name}`;
      const token = randomUUID();
      await connected();
      const ok = await client.set(lockKey, token, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX');
      if (ok !== 'OK') return null;
      return { key: name, token, release: async () => (await client.shuntReleaseLock(lockKey, token)) === 1 };
    },
    async close() {
      try {
        if (client.status === 'ready') await client.quit();
      } catch {
        // fall through to disconnect
      }
      client.disconnect();
    },
  };
}

/**
 * HSET KEYS[1] ARGV[1] = ARGV[3] unless the stored blob's generation is >= ARGV[2]; returns nil
 * when written, else the stored blob. Generations are compared as numbers read from the clear
 * `v1.<generation>.` prefix.
 */
export const WRITE_NEWER: string = `
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local generation = tonumber(string.match(old, '^v1%.(%d+)%.'))
  if generation and generation >= tonumber(ARGV[2]) then return old end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return false
`;

function aad(scope: string, name: string, generation: number, keyId: string): Buffer {
  return Buffer.from(JSON.stringify(['shunt-credentials/v1', scope, name, generation, keyId]), 'utf8');
}

function checkGeneration(generation: number): void {
  if (!Number.isSafeInteger(generation) || generation < 1 || generation > 999_999_999_999_999) {
    throw new RangeError(`sealSecret: the generation must be a positive integer, got ${String(generation)}`);
  }
}
