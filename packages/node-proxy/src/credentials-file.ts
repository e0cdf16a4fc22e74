/**
 * @module
 * `credentials.json`, in the Rust shunt's layout: `{ "accounts": { "<name>": <entry> } }`, where an
 * entry is `{"type":"oauth", access_token, refresh_token, expires_at (epoch ms), email?, id_token?}`
 * or `{"type":"apikey", key}` (an entry without `type` is OAuth). Written atomically (a temporary
 * file in the same directory, then a rename) with mode 0600; an unreadable or invalid file reads
 * as empty.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

/** A subscription (OAuth) login. */
export interface OAuthEntry {
  readonly type: 'oauth';
  readonly access_token: string;
  readonly refresh_token: string;
  /** When the access token expires, in epoch milliseconds. */
  readonly expires_at: number;
  readonly email?: string;
  readonly id_token?: string;
  /** Display only (Claude Code's `subscriptionType`). */
  readonly plan_type?: string;
}

/** An API key kept in the credentials file instead of the config. */
export interface ApiKeyEntry {
  readonly type: 'apikey';
  readonly key: string;
}

/** One account's stored credential. */
export type CredentialEntry = OAuthEntry | ApiKeyEntry;

/** The credentials file, read and written one entry at a time. */
export interface CredentialsFile {
  /** Where it lives. */
  readonly path: string;
  /** Every valid entry (an unreadable or invalid file reads as empty). */
  readAll(): Promise<ReadonlyMap<string, CredentialEntry>>;
  /** One account's entry, or null. */
  get(name: string): Promise<CredentialEntry | null>;
  /**
   * Store one account's entry, keeping every other entry as it was. Writes are queued, so two
   * concurrent `put`s never lose one another; the promise settles once the file is renamed into place.
   */
  put(name: string, entry: CredentialEntry): Promise<void>;
}

/** `$XDG_CONFIG_HOME/shunt/credentials.json` (else `~/.config/shunt/credentials.json`). */
export function defaultCredentialsPath(env: Readonly<Record<string, string | undefined>> = process.env, home: string = homedir()): string {
  const xdg = env['XDG_CONFIG_HOME'];
  const base = xdg !== undefined && xdg !== '' && isAbsolute(xdg) ? xdg : join(home, '.config');
  return join(base, 'shunt', 'credentials.json');
}

/** Validate one raw entry; null when it is not a usable credential. */
export function parseCredentialEntry(raw: unknown): CredentialEntry | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const entry = raw as Record<string, unknown>;
  const type = entry['type'] ?? 'oauth';
  if (type === 'apikey') {
    const key = entry['key'];
    return typeof key === 'string' && key !== '' ? { type: 'apikey', key } : null;
  }
  if (type !== 'oauth') return null;
  const access = entry['access_token'];
  const refresh = entry['refresh_token'];
  const expires = entry['expires_at'];
  if (typeof access !== 'string' || access === '' || typeof refresh !== 'string' || typeof expires !== 'number' || !Number.isFinite(expires)) {
    return null;
  }
  const out: { -readonly [K in keyof OAuthEntry]: OAuthEntry[K] } = { type: 'oauth', access_token: access, refresh_token: refresh, expires_at: expires };
  if (typeof entry['email'] === 'string') out.email = entry['email'];
  if (typeof entry['id_token'] === 'string') out.id_token = entry['id_token'];
  if (typeof entry['plan_type'] === 'string') out.plan_type = entry['plan_type'];
  return out;
}

/** Open the credentials file at `path` (nothing is read until asked). */
export function credentialsFile(path: string): CredentialsFile {
  let queue: Promise<unknown> = Promise.resolve();
  const readRaw = async (): Promise<Record<string, unknown>> => {
    try {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as unknown;
      const accounts = (parsed as { accounts?: unknown } | null)?.accounts;
      if (typeof accounts === 'object' && accounts !== null && !Array.isArray(accounts)) return { ...(accounts as Record<string, unknown>) };
    } catch {
      // Missing, unreadable or invalid: treated as empty (as the Rust shunt does).
    }
    return {};
  };
  const readAll = async (): Promise<ReadonlyMap<string, CredentialEntry>> => {
    const out = new Map<string, CredentialEntry>();
    for (const [name, raw] of Object.entries(await readRaw())) {
      const entry = parseCredentialEntry(raw);
      if (entry !== null) out.set(name, entry);
    }
    return out;
  };
  return {
    path,
    readAll,
    async get(name) {
      const raw = (await readRaw())[name];
      return raw === undefined ? null : parseCredentialEntry(raw);
    },
    put(name, entry) {
      const write = queue.then(async () => {
        const accounts = await readRaw();
        accounts[name] = entry;
        await writeFileAtomic(path, `${JSON.stringify({ accounts }, null, 2)}\n`);
      });
      queue = write.catch(() => undefined);
      return write;
    },
  };
}

/**
 * Write `text` to `path` so that a reader sees the old file or the new one, never a part: a
 * temporary file in the same directory (created 0600, flushed), then a rename. The directory is
 * created 0700 when missing.
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    // The umask can only remove bits; make sure the mode is exactly 0600.
    await chmod(temp, 0o600);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
