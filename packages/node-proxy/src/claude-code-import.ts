/**
 * @module
 * Import Claude Code's own subscription login (`~/.claude/.credentials.json`:
 * `{claudeAiOauth: {accessToken, refreshToken, expiresAt (ms), subscriptionType}}`) as a
 * `credentials.json` OAuth entry. The macOS Keychain copy (`Claude Code-credentials`) is not read.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { OAuthEntry } from './credentials-file.js';

/** Where Claude Code keeps its login on Linux (and on macOS when not in the Keychain). */
export function defaultClaudeCodeCredentialsPath(home: string = homedir()): string {
  return join(home, '.claude', '.credentials.json');
}

/** Why an import failed, in one sentence without any secret. */
export class ClaudeCodeImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClaudeCodeImportError';
  }
}

/** Turn the text of Claude Code's credentials file into an OAuth entry; throws a {@link ClaudeCodeImportError}. */
export function parseClaudeCodeCredentials(text: string): OAuthEntry {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ClaudeCodeImportError('not valid JSON');
  }
  const oauth = (parsed as { claudeAiOauth?: unknown } | null)?.claudeAiOauth;
  if (typeof oauth !== 'object' || oauth === null) throw new ClaudeCodeImportError('no claudeAiOauth entry (is Claude Code logged in with a subscription?)');
  const { accessToken, refreshToken, expiresAt, subscriptionType } = oauth as Record<string, unknown>;
  if (typeof accessToken !== 'string' || accessToken === '') throw new ClaudeCodeImportError('claudeAiOauth.accessToken is missing');
  if (typeof refreshToken !== 'string' || refreshToken === '') throw new ClaudeCodeImportError('claudeAiOauth.refreshToken is missing');
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) throw new ClaudeCodeImportError('claudeAiOauth.expiresAt is missing or not a number');
  return {
    type: 'oauth',
    access_token: accessToken,
    refresh_token: refreshToken,
    expires_at: expiresAt,
    plan_type: typeof subscriptionType === 'string' && subscriptionType !== '' ? subscriptionType : 'pro',
  };
}

/** Read and parse Claude Code's credentials file. */
export async function readClaudeCodeCredentials(file: string = defaultClaudeCodeCredentialsPath()): Promise<OAuthEntry> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ClaudeCodeImportError(
      code === 'ENOENT'
        ? `${file} does not exist${process.platform === 'darwin' ? ' (on macOS Claude Code keeps its login in the Keychain, which shunt does not read; use `shunt login` instead)' : ''}`
        : `cannot read ${file} (${code ?? String(error)})`,
    );
  }
  try {
    return parseClaudeCodeCredentials(text);
  } catch (error) {
    throw new ClaudeCodeImportError(`${file}: ${(error as Error).message}`);
  }
}
