/**
 * The token stores under test, opened inside the server process exactly as
 * `revokit serve --store URL` opens them (src/cli/open-store.ts: the same drivers, pool
 * sizes, timeouts and migrations). A store whose code or driver is missing is reported
 * "not available" instead of stopping the run.
 */
import type { TokenStore } from '../src/stores/token-store.js';

export const STORE_NAMES = ['memory', 'sqlite', 'postgres', 'redis'] as const;
export type StoreName = (typeof STORE_NAMES)[number];

/** Where a store keeps its data: chosen by the load generator, which owns the services. */
export interface StoreConfig {
  readonly name: StoreName;
  /** SQLite database file. */
  readonly sqlitePath?: string | undefined;
  /** PostgreSQL connection string. */
  readonly postgresUrl?: string | undefined;
  /** Redis URL. */
  readonly redisUrl?: string | undefined;
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

function urlOf(config: StoreConfig): string {
  switch (config.name) {
    case 'memory':
      return 'memory:';
    case 'sqlite':
      if (!config.sqlitePath) throw new StoreNotAvailable('no SQLite path given');
      return `sqlite:${config.sqlitePath}`;
    case 'postgres':
      if (!config.postgresUrl) throw new StoreNotAvailable('no PostgreSQL server was started');
      return config.postgresUrl;
    case 'redis':
      if (!config.redisUrl) throw new StoreNotAvailable('no Redis server was started');
      return config.redisUrl;
  }
}

/** What the store runs with, for the report. */
async function describe(config: StoreConfig, store: TokenStore): Promise<string> {
  switch (config.name) {
    case 'memory':
      return 'MemoryTokenStore';
    case 'sqlite': {
      const { db } = store as unknown as {
        db: { pragma(p: string, o: { simple: true }): unknown };
      };
      const pragma = (name: string) => db.pragma(name, { simple: true });
      return `SQLite (better-sqlite3) file on local disk, journal_mode=${pragma('journal_mode')}, synchronous=${pragma('synchronous')}, cache_size=${pragma('cache_size')}`;
    }
    case 'postgres': {
      const { pool } = store as unknown as {
        pool: { query(q: string): Promise<{ rows: { server_version: string }[] }> };
      };
      const { rows } = await pool.query('SHOW server_version');
      return `PostgreSQL ${rows[0]?.server_version} over TCP loopback, pg.Pool as revokit serve opens it`;
    }
    case 'redis': {
      const { redis } = store as unknown as { redis: { info(s: string): Promise<string> } };
      const info = await redis.info('server');
      const version = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
      return `Redis ${version} over TCP loopback, ioredis as revokit serve opens it`;
    }
  }
}

/** Opens the store a config names, migrated and empty, the way `revokit serve` does. */
export async function openBenchStore(config: StoreConfig): Promise<OpenedBenchStore> {
  const url = urlOf(config);
  let openStore: typeof import('../src/cli/open-store.js').openStore;
  try {
    ({ openStore } = await import('../src/cli/open-store.js'));
  } catch (error) {
    throw new StoreNotAvailable(
      `src/cli/open-store.js: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  let opened: Awaited<ReturnType<typeof openStore>>;
  try {
    opened = await openStore(url, { migrate: true });
  } catch (error) {
    throw new StoreNotAvailable((error as Error).message.split('\n')[0] ?? String(error));
  }
  if (opened.kind !== config.name) {
    await opened.close();
    throw new StoreNotAvailable(`${url} opened a ${opened.kind} store, not ${config.name}`);
  }
  return {
    store: opened.tokens,
    description: await describe(config, opened.tokens),
    close: () => opened.close(),
  };
}
