import { memoryStore } from '@shunt/core';
import { describe, expect, it } from 'vitest';
import type { AccountConfig } from './config.js';
import type { CredentialEntry, CredentialsFile } from './credentials-file.js';
import { silentLogger } from './logger.js';
import { accountCredentials, configWarnings, NEEDS_LOGIN, storeSingleFlight } from './oauth-accounts.js';

const oauth = { credentialsPath: '/nowhere/credentials.json', tokenUrl: 'http://127.0.0.1:9/token', authorizeUrl: 'http://127.0.0.1:9/a', clientId: 'c' };
const account = (name: string, apiKey: string | null = null): AccountConfig => ({ name, planType: 'pro', upstreamUrl: null, apiKey, missingCredential: apiKey === null ? 'none' : null });
const nullFile: CredentialsFile = { path: '/nowhere', readAll: async () => new Map(), get: async () => null, put: async () => {} };

describe('accountCredentials', () => {
  it('should resolve the credentials file entry first, then api_key / api_key_env', () => {
    const entries = new Map<string, CredentialEntry>([
      ['sub', { type: 'oauth', access_token: 'A', refresh_token: 'R', expires_at: Date.now() + 3_600_000 }],
      ['filekey', { type: 'apikey', key: 'from-file' }],
    ]);
    const store = memoryStore();
    const make = accountCredentials({ config: { oauth }, entries, file: nullFile });
    const context = { store, logger: silentLogger, now: Date.now };
    expect(make(account('sub', 'config-key'), context)?.kind).toBe('oauth');
    expect(make(account('filekey', 'config-key'), context)?.headers()).toEqual({ 'x-api-key': 'from-file' });
    expect(make(account('plain', 'config-key'), context)?.headers()).toEqual({ 'x-api-key': 'config-key' });
    expect(make(account('none'), context)).toBeNull();
  });

  it('should give an account marked needs_login another chance when it has tokens at start', () => {
    const entries = new Map<string, CredentialEntry>([['sub', { type: 'oauth', access_token: 'A', refresh_token: 'R', expires_at: 0 }]]);
    const store = memoryStore();
    store.disable('sub', NEEDS_LOGIN);
    store.disable('other', NEEDS_LOGIN);
    accountCredentials({ config: { oauth }, entries, file: nullFile })(account('sub'), { store, logger: silentLogger, now: Date.now });
    expect(store.disabledReason('sub')).toBeNull();
    expect(store.disabledReason('other')).toBe(NEEDS_LOGIN);
  });

  it('should use a store’s singleFlight (store-redis) with reuse, and none for a plain store', async () => {
    const calls: unknown[] = [];
    const store = {
      async singleFlight<T>(key: string, fn: () => Promise<T>, options: unknown) {
        calls.push([key, options]);
        return { value: await fn(), leader: true };
      },
    };
    const flight = storeSingleFlight(store);
    expect(await flight?.('k', async () => 42)).toBe(42);
    expect(calls).toEqual([['k', { reuseWithinMs: 10_000 }]]);
    expect(storeSingleFlight(memoryStore())).toBeUndefined();
  });

  it('should drop "no key" warnings of accounts whose credential is in the file', () => {
    const warnings = ['f: accounts[0].api_key_env: no api_key_env or api_key; account "sub" is disabled until it has a key', 'f: x: unknown key, ignored'];
    expect(configWarnings({ warnings }, new Set(['sub']))).toEqual(['f: x: unknown key, ignored']);
  });
});
