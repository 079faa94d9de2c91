export { SchemaVersionError } from '../schema-version-error.js';
export { BatchQueueTimeoutError } from '../turn-batch.js';
export { POSTGRES_MIGRATIONS } from './postgres-migrations.js';
export type { PostgresTokenStoreOptions } from './postgres-token-store.js';
export { PostgresTokenStore } from './postgres-token-store.js';
