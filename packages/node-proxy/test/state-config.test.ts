/**
 * The `[state]` table and the default `state_path`; and a Redis backend whose server is not there
 * at start (the proxy serves from its local replica and says so once).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_STATE_CONFIG, parseConfig, parseConfigText } from '../src/config.js';
import type { Logger } from '../src/logger.js';
import { openState } from '../src/state.js';
import { freePort } from '../../store-redis/test/redis-server.js';

const FILE = '/home/u/.config/shunt/config.toml';
const ACCOUNT = '\n[[accounts]]\nname = "a"\napi_key = "k"\n';

function toml(text: string, env: Record<string, string> = {}) {
  return parseConfigText(text + ACCOUNT, { file: FILE, env });
}

function errorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('[state]', () => {
  it('should default to the memory backend', () => {
    expect(toml('').state).toEqual({ backend: 'memory', url: null, keyPrefix: 'shunt:', credentialsKey: null, credentialsKeyPrevious: null });
    expect(DEFAULT_STATE_CONFIG).toEqual({ backend: 'memory', url: null, keyPrefix: 'shunt:', credentialsKey: null, credentialsKeyPrevious: null });
  });

  it('should read a redis backend', () => {
    const config = toml('[state]\nbackend = "redis"\nurl = "rediss://:pw@10.0.0.5:6380/2"\nkey_prefix = "team-a:"\n');
    expect(config.state).toEqual({ backend: 'redis', url: 'rediss://:pw@10.0.0.5:6380/2', keyPrefix: 'team-a:', credentialsKey: null, credentialsKeyPrevious: null });
    expect(config.warnings).toEqual([expect.stringMatching(/accounts\[0\]\.api_key/)]);
  });

  it('should name the file and key of every mistake, and never echo the URL', () => {
    expect(errorOf(() => toml('[state]\nbackend = "redis"\n'))).toMatchObject({ file: FILE, key: 'state.url', reason: expect.stringMatching(/missing/) });
    const scheme = errorOf(() => toml('[state]\nbackend = "redis"\nurl = "http://user:secret@host:6379"\n'));
    expect(scheme).toMatchObject({ key: 'state.url', reason: 'must be a redis:// or rediss:// URL, got http:' });
    expect(scheme.message).not.toMatch(/secret/);
    const garbage = errorOf(() => toml('[state]\nbackend = "redis"\nurl = "not a url secret"\n'));
    expect(garbage).toMatchObject({ key: 'state.url' });
    expect(garbage.message).not.toMatch(/secret/);
    // ioredis would read this as db 0: refused at load, before anything connects.
    const path = errorOf(() => toml('[state]\nbackend = "redis"\nurl = "redis://:secret@10.0.0.5:6379/main"\n'));
    expect(path).toMatchObject({ key: 'state.url', reason: expect.stringMatching(/db "main"/) });
    expect(path.message).not.toMatch(/secret/);
    expect(errorOf(() => toml('[state]\nbackend = "disk"\n'))).toMatchObject({ key: 'state.backend', reason: expect.stringMatching(/"memory" or "redis"/) });
    expect(errorOf(() => toml('[state]\nbackend = 1\n'))).toMatchObject({ key: 'state.backend' });
    expect(errorOf(() => toml('[state]\nkey_prefix = ""\n'))).toMatchObject({ key: 'state.key_prefix' });
    expect(errorOf(() => parseConfig({ state: 'redis', accounts: [{ name: 'a', api_key: 'k' }] }, { file: FILE }))).toMatchObject({ key: 'state' });
  });

  it('should read the credentials key from the table, else from the environment, and never echo a bad one', () => {
    const hex = 'ab'.repeat(32);
    const b64 = Buffer.alloc(32, 7).toString('base64');
    const redis = '[state]\nbackend = "redis"\nurl = "redis://127.0.0.1"\n';
    expect(toml(`${redis}credentials_key = "${hex}"\n`, { SHUNT_CREDENTIALS_KEY: b64 }).state).toMatchObject({ credentialsKey: hex, credentialsKeyPrevious: null });
    expect(toml(redis, { SHUNT_CREDENTIALS_KEY: b64, SHUNT_CREDENTIALS_KEY_PREVIOUS: hex }).state).toMatchObject({ credentialsKey: b64, credentialsKeyPrevious: hex });
    const bad = errorOf(() => toml(`${redis}credentials_key = "hunter2-not-a-key"\n`));
    expect(bad).toMatchObject({ key: 'state.credentials_key', reason: expect.stringMatching(/32 random bytes/) });
    expect(bad.message).not.toContain('hunter2');
    expect(errorOf(() => toml(redis, { SHUNT_CREDENTIALS_KEY: 'short' }))).toMatchObject({ key: 'SHUNT_CREDENTIALS_KEY' });
  });

  it('should warn about unknown keys and a url without the redis backend', () => {
    const config = toml('[state]\nurl = "redis://127.0.0.1"\nttl = 3\n');
    expect(config.state.url).toBeNull();
    expect(config.warnings).toEqual(
      expect.arrayContaining([`${FILE}: state.url: set but state.backend is not "redis"; ignored`, `${FILE}: state.ttl: unknown key, ignored`]),
    );
  });

  it('should default state_path to $XDG_DATA_HOME/shunt/state.json, else ~/.local/share', () => {
    expect(toml('', { XDG_DATA_HOME: '/data' }).server.statePath).toBe('/data/shunt/state.json');
    expect(toml('', {}).server.statePath).toBe(join(homedir(), '.local', 'share', 'shunt', 'state.json'));
  });
});

describe('the redis backend without a Redis', () => {
  it('should start on its local replica, say so once, and report it in its status', async () => {
    const port = await freePort();
    const config = parseConfig(
      { state: { backend: 'redis', url: `redis://127.0.0.1:${port}` }, accounts: [{ name: 'a', api_key: 'k' }] },
      { file: '<test>', env: {} },
    );
    const warnings: string[] = [];
    const logger: Logger = { debug: () => {}, info: () => {}, warn: (msg) => void warnings.push(msg), error: () => {} };
    const state = await openState(config, { logger, readyTimeoutMs: 300 });
    try {
      expect(state.kind).toBe('redis');
      expect(state.status()).toMatchObject({ backend: 'redis', key_prefix: 'shunt:', connected: false, last_sync_ms: null });
      expect(state.up()).toBe(false);
      state.store.setCooldown('a', 60_000);
      expect(state.store.isAvailable('a')).toBe(false);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/Redis/);
    } finally {
      await state.close();
    }
  });
});
