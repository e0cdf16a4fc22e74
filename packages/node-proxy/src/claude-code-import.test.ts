import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClaudeCodeImportError, defaultClaudeCodeCredentialsPath, parseClaudeCodeCredentials, readClaudeCodeCredentials } from './claude-code-import.js';

const CLAUDE = { claudeAiOauth: { accessToken: 'sk-ant-oat-1', refreshToken: 'sk-ant-ort-1', expiresAt: 1_767_600_000_000, subscriptionType: 'max', scopes: ['user:inference'] } };

describe('Claude Code import', () => {
  it('should read ~/.claude/.credentials.json by default', () => {
    expect(defaultClaudeCodeCredentialsPath('/home/u')).toBe('/home/u/.claude/.credentials.json');
  });

  it('should turn claudeAiOauth into an OAuth entry with the plan', () => {
    expect(parseClaudeCodeCredentials(JSON.stringify(CLAUDE))).toEqual({
      type: 'oauth',
      access_token: 'sk-ant-oat-1',
      refresh_token: 'sk-ant-ort-1',
      expires_at: 1_767_600_000_000,
      plan_type: 'max',
    });
    const { subscriptionType: _, ...noPlan } = CLAUDE.claudeAiOauth;
    expect(parseClaudeCodeCredentials(JSON.stringify({ claudeAiOauth: noPlan })).plan_type).toBe('pro');
  });

  it.each([
    ['not JSON', '{', /not valid JSON/],
    ['no claudeAiOauth', '{}', /no claudeAiOauth/],
    ['no refresh token', JSON.stringify({ claudeAiOauth: { accessToken: 'a', expiresAt: 1 } }), /refreshToken/],
    ['expiresAt as a string', JSON.stringify({ claudeAiOauth: { accessToken: 'a', refreshToken: 'r', expiresAt: '1' } }), /expiresAt/],
  ])('should refuse %s without quoting a secret', (_label, text, message) => {
    expect(() => parseClaudeCodeCredentials(text)).toThrow(message);
  });

  it('should say which file is missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shunt-cc-'));
    await expect(readClaudeCodeCredentials(join(dir, 'nope.json'))).rejects.toThrow(ClaudeCodeImportError);
    await writeFile(join(dir, 'c.json'), JSON.stringify(CLAUDE));
    expect((await readClaudeCodeCredentials(join(dir, 'c.json'))).access_token).toBe('sk-ant-oat-1');
  });
});
