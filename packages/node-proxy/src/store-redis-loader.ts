/**
 * @module
 * `@shunt/store-redis` (and with it `ioredis`) is an optional peer: loaded only for
 * `[state] backend = "redis"`, so a proxy on the memory backend installs and loads neither. When it
 * is configured but not installed, the start stops with one line naming the package to install.
 */
import { ConfigError } from './config.js';

/** The part of `@shunt/store-redis` the proxy uses. */
export type StoreRedisModule = typeof import('@shunt/store-redis');

/**
 * Import `@shunt/store-redis`, or throw a {@link ConfigError} (exit 2) on `state.backend` saying
 * which package to install when it is missing. `importer` is for tests.
 */
export async function loadStoreRedis(file: string, importer: () => Promise<StoreRedisModule> = () => import('@shunt/store-redis')): Promise<StoreRedisModule> {
  try {
    return await importer();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = error instanceof Error ? error.message : String(error);
    const missing = /'(@shunt\/store-redis|ioredis)'/.exec(message)?.[1];
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && missing !== undefined) {
      throw new ConfigError(
        file,
        'state.backend',
        `"redis" needs the package ${missing}, which is not installed: \`npm i -g @shunt/store-redis\` next to a global shunt, or \`npm i @shunt/store-redis\` in your project`,
      );
    }
    throw error;
  }
}
