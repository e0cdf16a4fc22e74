import { describe, expect, it } from 'vitest';
import { ConfigError } from './config.js';
import { loadStoreRedis, type StoreRedisModule } from './store-redis-loader.js';

/** What Node throws when an import cannot be resolved. */
const notFound = (name: string): Error =>
  Object.assign(new Error(`Cannot find package '${name}' imported from /usr/lib/node_modules/@shunt/node-proxy/dist/cli.js`), { code: 'ERR_MODULE_NOT_FOUND' });

describe('loadStoreRedis', () => {
  it('should load the package when it is installed', async () => {
    const module = await loadStoreRedis('/c.toml');
    expect(typeof module.redisStore).toBe('function');
  });

  it('should name the package to install when it, or ioredis, is missing', async () => {
    for (const name of ['@shunt/store-redis', 'ioredis']) {
      const error = await loadStoreRedis('/c.toml', () => Promise.reject(notFound(name))).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toBe(
        `/c.toml: state.backend: "redis" needs the package ${name}, which is not installed: \`npm i -g @shunt/store-redis\` next to a global shunt, or \`npm i @shunt/store-redis\` in your project`,
      );
    }
  });

  it('should pass any other failure on as it is', async () => {
    const broken = new Error('boom');
    await expect(loadStoreRedis('/c.toml', () => Promise.reject<StoreRedisModule>(broken))).rejects.toBe(broken);
  });
});
