export { PostgresTokenStore } from './postgres-token-store.js';
export type { PostgresTokenStoreOptions } from './postgres-token-store.js';
export { POSTGRES_MIGRATIONS } from './postgres-migrations.js';
export { SchemaVersionError } from '../schema-version-error.js';
