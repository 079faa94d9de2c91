export { RedisTokenStore, REDIS_SCHEMA_VERSION } from './redis-token-store.js';
export type { RedisTokenStoreOptions } from './redis-token-store.js';
export { SchemaVersionError } from '../schema-version-error.js';
