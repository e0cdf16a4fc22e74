/**
 * @module
 * `@shunt/store-redis`: a `@shunt/core` `StateStore` shared by several shunt proxies through Redis.
 * Reads stay local (a replica in memory), writes go through and merge order-independently, and
 * `singleFlight` keeps a cross-instance OAuth refresh to one instance at a time; `redisCredentials`
 * shares OAuth tokens encrypted (AES-256-GCM), newest generation wins.
 */
export { redisStore } from './redis-store.js';
export type {
  RedisLock,
  RedisStore,
  RedisStoreLogger,
  RedisStoreOptions,
  RedisStoreStatus,
  SingleFlightOptions,
  SingleFlightResult,
} from './redis-store.js';
export { CredentialKeyError, credentialsKeyId, parseCredentialsKey, redisCredentials } from './credentials.js';
export type { RedisCredentialsOptions, SharedCredentials, SharedSecret } from './credentials.js';
