/**
 * The token stores under test, opened inside the server process. Each store module is
 * imported only when asked for, so a store whose module is missing or whose driver fails
 * to load is reported "not available" instead of stopping the run.
 */
import type { TokenStore } from '../src/stores/token-store.js';

export const STORE_NAMES = ['memory', 'sqlite', 'postgres', 'redis'] as const;
export type StoreName = (typeof STORE_NAMES)[number];

/** Where a store keeps its data: chosen by the load generator, which owns the services. */
export interface StoreConfig {
  readonly name: StoreName;
  /** SQLite database file. */
  readonly sqlitePath?: string;
  /** PostgreSQL connection string. */
  readonly postgresUrl?: string;
  /** Redis URL. */
  readonly redisUrl?: string;
}

/** An opened store and how to let it go. */
export interface OpenedBenchStore {
  readonly store: TokenStore;
  readonly description: string;
  close(): Promise<void>;
}

/** A store that cannot be benchmarked here, and why. */
export class StoreNotAvailable extends Error {
  override readonly name = 'StoreNotAvailable';
}

/** Imports a module by path, turning "not there" into {@link StoreNotAvailable}. */
async function load<T>(specifier: string, what: string): Promise<T> {
  try {
    return (await import(specifier)) as T;
  } catch (error) {
    throw new StoreNotAvailable(`${what}: ${(error as Error).message.split('\n')[0]}`);
  }
}

/** Opens the store a config names, migrated and empty. */
export async function openBenchStore(config: StoreConfig): Promise<OpenedBenchStore> {
  switch (config.name) {
    case 'memory': {
      const { MemoryTokenStore } = await load<typeof import('../src/stores/memory/index.js')>(
        '../src/stores/memory/index.js',
        'memory store',
      );
      return { store: new MemoryTokenStore(), description: 'memory', close: async () => {} };
    }
    case 'sqlite': {
      const { SqliteTokenStore } = await load<typeof import('../src/stores/sqlite/index.js')>(
        '../src/stores/sqlite/index.js',
        'SQLite store',
      );
      const { default: Database } = await load<{ default: typeof import('better-sqlite3') }>(
        'better-sqlite3',
        'better-sqlite3',
      );
      if (!config.sqlitePath) throw new Error('no SQLite path given');
      const db = new Database(config.sqlitePath);
      const store = new SqliteTokenStore(db);
      const mode = db.pragma('synchronous', { simple: true });
      return {
        store,
        description: `SQLite ${db.prepare('SELECT sqlite_version() AS v').pluck().get()} (better-sqlite3), WAL, synchronous=${mode}, file on local disk`,
        close: async () => {
          db.close();
        },
      };
    }
    case 'postgres': {
      const { PostgresTokenStore } = await load<typeof import('../src/stores/postgres/index.js')>(
        '../src/stores/postgres/index.js',
        'PostgreSQL store',
      );
      const { default: pg } = await load<{ default: typeof import('pg') }>('pg', 'pg');
      if (!config.postgresUrl) throw new StoreNotAvailable('no PostgreSQL server was started');
      // pg's default pool: ten connections.
      const pool = new pg.Pool({ connectionString: config.postgresUrl });
      const store = new PostgresTokenStore(pool);
      const { rows } = await pool.query<{ v: string }>('SHOW server_version');
      return {
        store,
        description: `PostgreSQL ${rows[0]?.v} over TCP loopback, pg.Pool of ${pool.options.max ?? 10}`,
        close: () => pool.end(),
      };
    }
    default:
      throw new StoreNotAvailable(`the ${config.name} store is not implemented yet`);
  }
}
