/**
 * @module
 * `shunt login <name>` and `shunt import-claude-code <name>`: put a subscription account's tokens
 * into the credentials file. Neither ever prints a token.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { ShuntConfig } from './config.js';
import { readClaudeCodeCredentials } from './claude-code-import.js';
import { credentialsFile, type OAuthEntry } from './credentials-file.js';
import { authorizeUrl, exchangeCode, OAuthError, pkce, type FetchLike } from './oauth.js';

/** Where the tokens go, and the account list to check the name against (null without a config file). */
export interface LoginTarget {
  readonly oauth: ShuntConfig['oauth'];
  readonly accounts: readonly { readonly name: string; readonly auth?: 'oauth' }[] | null;
}

/** Input and output of a login (the process's by default in the CLI; streams in tests). */
export interface LoginIo {
  /** Where the user pastes `CODE#STATE`. */
  readonly input: Readable;
  /** Where instructions go. */
  readonly write: (text: string) => void;
  /** @default globalThis.fetch */
  readonly fetch?: FetchLike | undefined;
  /** @default Date.now */
  readonly now?: (() => number) | undefined;
}

/** A login or import that could not be done; `exitCode` 2 for bad input, 1 otherwise. */
export class LoginError extends Error {
  readonly exitCode: 1 | 2;
  constructor(message: string, exitCode: 1 | 2) {
    super(message);
    this.name = 'LoginError';
    this.exitCode = exitCode;
  }
}

const NAME = /^[\x21-\x7e](?:[\x20-\x7e]{0,62}[\x21-\x7e])?$/;

/** Run the PKCE login for `name`: print the URL, read the pasted code, exchange it, save the tokens. */
export async function runLogin(name: string, target: LoginTarget, io: LoginIo): Promise<OAuthEntry> {
  checkName(name);
  const login = pkce();
  const url = authorizeUrl(login, { authorizeUrl: target.oauth.authorizeUrl, clientId: target.oauth.clientId });
  io.write(`Log in to the Claude account for "${name}" by opening this URL in a browser:\n\n  ${url}\n\n`);
  io.write('Then paste the code it shows (CODE#STATE) here and press Enter: ');
  const pasted = await readLine(io.input);
  if (pasted === null || pasted.trim() === '') throw new LoginError('no code was pasted', 2);
  let entry: OAuthEntry;
  try {
    entry = await exchangeCode(pasted, login, { tokenUrl: target.oauth.tokenUrl, clientId: target.oauth.clientId, fetch: io.fetch, now: io.now });
  } catch (error) {
    if (error instanceof OAuthError) {
      // Refused or mismatched: the pasted code is wrong or stale. Network errors and 5xx: try again.
      const bad = error.permanent;
      throw new LoginError(`login failed: ${error.message}${bad ? ' (paste the code of this login, soon after it is shown)' : ''}`, bad ? 2 : 1);
    }
    throw error;
  }
  await save(name, entry, target);
  io.write(`\nSaved the login for "${name}" to ${target.oauth.credentialsPath}.\n${accountHint(name, target)}`);
  return entry;
}

/** Copy Claude Code's stored login (`from`, default `~/.claude/.credentials.json`) into the credentials file as `name`. */
export async function runImportClaudeCode(
  name: string,
  target: LoginTarget,
  options: { readonly from?: string | undefined; readonly write: (text: string) => void; readonly now?: (() => number) | undefined },
): Promise<OAuthEntry> {
  checkName(name);
  let entry: OAuthEntry;
  try {
    entry = await readClaudeCodeCredentials(options.from);
  } catch (error) {
    throw new LoginError(`cannot import: ${(error as Error).message}`, 2);
  }
  await save(name, entry, target);
  const now = (options.now ?? Date.now)();
  const expiry = entry.expires_at <= now ? 'expired: it is refreshed on first use' : `expires ${new Date(entry.expires_at).toISOString()}`;
  options.write(
    `Imported Claude Code's ${entry.plan_type ?? 'pro'} login as "${name}" into ${target.oauth.credentialsPath} (${expiry}).\n` +
      'Claude Code and shunt now share one refresh token: when one refreshes it, the other must use the rotated one\n' +
      '(shunt re-reads the credentials file before refreshing; Claude Code may ask you to log in again).\n' +
      accountHint(name, target),
  );
  return entry;
}

function checkName(name: string): void {
  if (!NAME.test(name)) throw new LoginError(`${JSON.stringify(name)} is not an account name (1 to 64 printable ASCII characters)`, 2);
}

async function save(name: string, entry: OAuthEntry, target: LoginTarget): Promise<void> {
  try {
    await credentialsFile(target.oauth.credentialsPath).put(name, entry);
  } catch (error) {
    throw new LoginError(`cannot write ${target.oauth.credentialsPath} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, 1);
  }
}

function accountHint(name: string, target: LoginTarget): string {
  const account = target.accounts?.find((a) => a.name === name);
  const restart = 'Restart a running shunt to use it.\n';
  if (account !== undefined) return restart;
  return `Add the account to your configuration if it is not there yet:\n\n  [[accounts]]\n  name = ${JSON.stringify(name)}\n  auth = "oauth"\n\n${restart}`;
}

function readLine(input: Readable): Promise<string | null> {
  return new Promise((resolve) => {
    const rl = createInterface({ input, terminal: false });
    let done = false;
    rl.once('line', (line) => {
      done = true;
      rl.close();
      resolve(line);
    });
    rl.once('close', () => {
      if (!done) resolve(null);
    });
  });
}
