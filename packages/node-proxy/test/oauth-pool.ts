/**
 * Test helper: a pool of real `shunt start` processes sharing subscription accounts through one
 * redis-server, each with its own credentials file, in front of a {@link rotatingOAuth} server.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { credentialsFile, type OAuthEntry } from '../src/credentials-file.js';
import { messageParams, spawnShunt, type ShuntProcess } from './helpers.js';
import type { RotatingOAuth } from './rotating-oauth.js';

/** One instance of the pool. */
export interface PoolInstance {
  readonly name: string;
  readonly process: ShuntProcess;
  readonly client: Anthropic;
  /** The account that served a request (`x-shunt-account`). */
  send(conversation: string): Promise<string | null>;
  /** Accounts whose `/status` says `needs_login`. */
  needsLogin(): Promise<string[]>;
  /** SIGTERM, and the exit code. */
  stop(): Promise<number | null>;
}

/** Options for {@link startPool}. */
export interface PoolOptions {
  readonly oauth: RotatingOAuth;
  readonly redisUrl: string;
  /** Instance names; each gets its own directory and credentials file. */
  readonly instances: readonly string[];
  /** Subscription accounts and the tokens every instance's file is seeded with. */
  readonly seeds: ReadonlyMap<string, OAuthEntry>;
  /** A credentials key (hex); a fresh random one by default. */
  readonly credentialsKey?: string | undefined;
}

/** Write each instance's config and credentials file, and start them all. */
export async function startPool(options: PoolOptions): Promise<PoolInstance[]> {
  const dir = await mkdtemp(join(tmpdir(), 'shunt-oauth-pool-'));
  const key = options.credentialsKey ?? randomBytes(32).toString('hex');
  const prefix = `pool-${randomBytes(4).toString('hex')}:`;
  return Promise.all(
    options.instances.map(async (name) => {
      const home = join(dir, name);
      await mkdir(home, { recursive: true });
      const credentials = credentialsFile(join(home, 'credentials.json'));
      for (const [account, entry] of options.seeds) await credentials.put(account, entry);
      const config = [
        '[server]',
        'port = 0',
        'control_port = 0',
        `upstream_url = "${options.oauth.upstreamUrl}"`,
        `credentials_path = "${credentials.path}"`,
        `oauth_token_url = "${options.oauth.tokenUrl}"`,
        'oauth_client_id = "test-client"',
        '[state]',
        'backend = "redis"',
        `url = "${options.redisUrl}"`,
        `key_prefix = "${prefix}"`,
        `credentials_key = "${key}"`,
        ...[...options.seeds.keys()].flatMap((account) => ['[[accounts]]', `name = "${account}"`, 'auth = "oauth"']),
        '',
      ].join('\n');
      await writeFile(join(home, 'config.toml'), config);
      const process = await spawnShunt(join(home, 'config.toml'));
      const client = new Anthropic({ baseURL: process.proxyUrl, apiKey: 'unused', maxRetries: 0, timeout: 20_000 });
      const instance: PoolInstance = {
        name,
        process,
        client,
        async send(conversation) {
          const { response } = await client.messages.create(messageParams(conversation)).withResponse();
          return response.headers.get('x-shunt-account');
        },
        async needsLogin() {
          const status = (await (await fetch(`${process.controlUrl}/status`)).json()) as { accounts: Array<{ name: string; status: string }> };
          return status.accounts.filter((a) => a.status === 'needs_login').map((a) => a.name);
        },
        async stop() {
          if (process.child.exitCode === null) process.child.kill('SIGTERM');
          return process.exited;
        },
      };
      return instance;
    }),
  );
}

/** Pin `account` on an instance (the pin is shared through Redis). */
export async function pin(instance: PoolInstance, account: string): Promise<void> {
  const response = await fetch(`${instance.process.controlUrl}/use`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ account }),
  });
  if (response.status !== 200) throw new Error(`pin ${account}: ${String(response.status)}`);
}

/** Any OAuth token that reached a log (there must be none). */
export function leakedTokens(log: string): string[] {
  return log.match(/sk-ant-o[ar]t01-[\w-]+/g) ?? [];
}
