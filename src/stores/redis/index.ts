export { SchemaVersionError } from '../schema-version-error.js';
export type { RedisTokenStoreOptions } from './redis-token-store.js';
export { REDIS_SCHEMA_VERSION, RedisTokenStore } from './redis-token-store.js';
