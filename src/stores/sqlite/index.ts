export { SchemaVersionError } from '../schema-version-error.js';
export { SQLITE_MIGRATIONS } from './sqlite-migrations.js';
export type { SqliteTokenStoreOptions } from './sqlite-token-store.js';
export { SqliteTokenStore } from './sqlite-token-store.js';
