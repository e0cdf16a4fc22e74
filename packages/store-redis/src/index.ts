/**
 * @module
 * `@shunt/store-redis`: a `@shunt/core` `StateStore` shared by several shunt proxies through Redis.
 * Reads stay local (a replica in memory), writes go through and merge order-independently, and
 * `singleFlight` keeps a cross-instance OAuth refresh to one instance at a time.
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
