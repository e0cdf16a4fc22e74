import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { credentialsFile, defaultCredentialsPath, parseCredentialEntry, type OAuthEntry } from './credentials-file.js';

const entry = (n: number): OAuthEntry => ({ type: 'oauth', access_token: `A${n}`, refresh_token: `R${n}`, expires_at: 1_700_000_000_000 + n });

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'shunt-creds-'));
}

describe('credentials.json', () => {
  it('should default to $XDG_CONFIG_HOME/shunt/credentials.json, else ~/.config', () => {
    expect(defaultCredentialsPath({ XDG_CONFIG_HOME: '/x/cfg' }, '/home/u')).toBe('/x/cfg/shunt/credentials.json');
    expect(defaultCredentialsPath({}, '/home/u')).toBe('/home/u/.config/shunt/credentials.json');
  });

  it('should read the seed layout: typed entries, legacy untyped entries as OAuth, and skip invalid ones', () => {
    expect(parseCredentialEntry({ type: 'apikey', key: 'sk-1' })).toEqual({ type: 'apikey', key: 'sk-1' });
    expect(parseCredentialEntry({ access_token: 'a', refresh_token: 'r', expires_at: 5, email: 'e@x' })).toEqual({
      type: 'oauth',
      access_token: 'a',
      refresh_token: 'r',
      expires_at: 5,
      email: 'e@x',
    });
    expect(parseCredentialEntry({ type: 'oauth', access_token: 'a' })).toBeNull();
    expect(parseCredentialEntry({ type: 'other' })).toBeNull();
    expect(parseCredentialEntry('x')).toBeNull();
  });

  it('should read a missing or corrupt file as empty', async () => {
    const dir = await tempDir();
    expect((await credentialsFile(join(dir, 'none.json')).readAll()).size).toBe(0);
    await writeFile(join(dir, 'bad.json'), '{not json');
    expect((await credentialsFile(join(dir, 'bad.json')).readAll()).size).toBe(0);
  });

  it('should write atomically with mode 0600 in a 0700 directory, keeping the other entries as they were', async () => {
    const dir = join(await tempDir(), 'nested', 'shunt');
    const path = join(dir, 'credentials.json');
    const file = credentialsFile(path);
    await file.put('a', entry(1));
    // An entry this proxy does not understand is kept verbatim.
    const raw = JSON.parse(await readFile(path, 'utf8')) as { accounts: Record<string, unknown> };
    raw.accounts['codex'] = { type: 'oauth', access_token: 'x', refresh_token: 'y', expires_at: 1, id_token: 'z', extra: true };
    await writeFile(path, JSON.stringify(raw));
    await file.put('b', { type: 'apikey', key: 'sk-b' });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const text = JSON.parse(await readFile(path, 'utf8')) as { accounts: Record<string, unknown> };
    expect(text.accounts).toEqual({ a: entry(1), codex: raw.accounts['codex'], b: { type: 'apikey', key: 'sk-b' } });
    // No temporary file is left behind.
    expect(await readdir(dir)).toEqual(['credentials.json']);
  });

  it('should not lose an entry when puts race', async () => {
    const path = join(await tempDir(), 'credentials.json');
    const file = credentialsFile(path);
    await Promise.all(Array.from({ length: 20 }, (_, i) => file.put(`acct${i}`, entry(i))));
    const all = await file.readAll();
    expect(all.size).toBe(20);
    expect(all.get('acct7')).toEqual(entry(7));
  });

  it('should leave the old file whole when a write fails', async () => {
    const dir = await tempDir();
    const path = join(dir, 'credentials.json');
    const file = credentialsFile(path);
    await file.put('a', entry(1));
    // A directory where the file's parent should be: the next write fails before the rename.
    const broken = credentialsFile(join(path, 'inside.json'));
    await expect(broken.put('b', entry(2))).rejects.toThrow();
    expect(await file.get('a')).toEqual(entry(1));
  });
});
