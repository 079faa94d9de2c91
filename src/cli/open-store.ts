import { MemoryClientStore, type WritableClientStore } from '../client-auth/client-store.js';
import { MemoryTokenStore } from '../stores/memory/memory-token-store.js';
import type { TokenStore } from '../stores/token-store.js';
import { CliError } from './cli-error.js';
import type { Logger } from './logger.js';

/** The store URL `revokit` uses when none is given: a file that survives a restart. */
export const DEFAULT_STORE = 'sqlite:./revokit.db';

/** The kinds of `--store` URL. */
export type StoreKind = 'memory' | 'sqlite' | 'postgres' | 'redis';

/** A store opened from a `--store` URL, with what it takes to close it. */
export interface OpenedStore {
  readonly kind: StoreKind;
  readonly tokens: TokenStore;
  /** Where clients live: in the same database for the persistent stores. */
  readonly clients: WritableClientStore;
  /** A description for logs, without credentials. */
  readonly description: string;
  /** A warning to log once at start, such as the memory store's. */
  readonly warning?: string | undefined;
  /**
   * Whether any client is registered; `undefined` when the store cannot tell cheaply, so
   * that `revokit serve` can warn that every request would answer `invalid_client`.
   */
  hasClients?(): Promise<boolean | undefined>;
  close(): Promise<void>;
}

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** Where connection losses after start are reported. */
  readonly logger?: Logger | undefined;
  /** Bring the schema up to date (default true); this also proves the store reachable. */
  readonly migrate?: boolean | undefined;
  /** Redis: how long a token is kept after it ends, in seconds (default 7 days). */
  readonly retention?: number | undefined;
  /**
   * How long a connection attempt or a command may take before it fails, in ms (default
   * 3000): a store that is down answers 503 quickly rather than holding requests.
   */
  readonly timeout?: number | undefined;
  /**
   * Redis: how long one command may run before it fails, in ms (default 5000). Operator
   * commands that walk many tokens in one script raise it.
   */
  readonly commandTimeout?: number | undefined;
  /**
   * PostgreSQL: the server-side `statement_timeout` of every connection, in ms (default
   * {@link SERVE_STATEMENT_TIMEOUT}); `0` leaves the database's own setting. Operator
   * commands that update many tokens in one statement raise it. A `statement_timeout` in
   * the URL's query wins.
   */
  readonly statementTimeout?: number | undefined;
  /** PostgreSQL: the store's `batchQueueTimeout`, in ms (default 500). */
  readonly batchQueueTimeout?: number | undefined;
  /**
   * SQLite: how long a write waits for another connection's lock, in ms (default 2000).
   * `revokit serve` keeps it inside its store timeout.
   */
  readonly busyTimeout?: number | undefined;
}

/** The endpoints' store timeout under `revokit serve` without `--store-timeout`, in ms. */
export const DEFAULT_STORE_TIMEOUT = 5000;

/**
 * The store's own limits inside the endpoints' store timeout, so that a revocation
 * answered 503 is not committed afterwards. PostgreSQL: a call waits for a batch slot a
 * tenth of it at most, and its statement is cancelled before the endpoint gives up, half
 * a second being left for taking a pooled connection and the round trip (at 5000 ms:
 * 500 ms and 4000 ms). Redis's command timeout is the store timeout itself; SQLite's lock
 * wait half a second below it, at most 2000 ms. A longer timeout for a distant database
 * lets calls wait longer behind slow statements instead of being shed.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.2.1
 * @see https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-STATEMENT-TIMEOUT
 */
export function storeLimits(storeTimeout: number) {
  const batchQueueTimeout = Math.floor(storeTimeout / 10);
  return {
    batchQueueTimeout,
    statementTimeout: storeTimeout - batchQueueTimeout - 500,
    commandTimeout: storeTimeout,
    busyTimeout: Math.min(2000, storeTimeout - 500),
  };
}

/**
 * The `statement_timeout` PostgreSQL gets when none is asked for: `revokit serve`'s at its
 * default store timeout. A request the endpoint has given up on (503) would otherwise keep
 * its statement running, and its row locks held, and might commit a revocation after the
 * client was told it failed.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.2.1
 */
export const SERVE_STATEMENT_TIMEOUT = storeLimits(DEFAULT_STORE_TIMEOUT).statementTimeout;

const FORMS = 'sqlite:PATH, postgres://…, redis://… or memory:';

/**
 * Opens the token and client stores a `--store` URL names, and migrates them: `memory:`,
 * `sqlite:PATH`, `postgres://…` (or `postgresql://…`), `redis://…` (or `rediss://…`).
 * Drivers are imported only when their store is asked for. Every failure is a
 * {@link CliError}: one line, no stack trace.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<OpenedStore> {
  const colon = url.indexOf(':');
  const scheme = colon < 0 ? '' : url.slice(0, colon).toLowerCase();
  let opened: OpenedStore;
  switch (scheme) {
    case 'memory':
      if (url.length > 'memory:'.length) {
        throw new CliError(
          `--store ${JSON.stringify(redactText(url))}: the memory store takes no path`,
        );
      }
      opened = {
        kind: 'memory',
        tokens: new MemoryTokenStore(),
        clients: new MemoryClientStore(),
        description: 'memory',
        warning:
          'the memory store keeps tokens in this process only and loses them on exit: not for production',
        close: async () => {},
      };
      break;
    case 'sqlite':
      opened = await openSqlite(url, options);
      break;
    case 'postgres':
    case 'postgresql':
      opened = await openPostgres(url, options);
      break;
    case 'redis':
    case 'rediss':
      opened = await openRedis(url, options);
      break;
    default:
      throw new CliError(`--store ${JSON.stringify(redactText(url))}: expected ${FORMS}`);
  }
  if (options.migrate ?? true) {
    try {
      await opened.tokens.migrate?.();
    } catch (error) {
      await opened.close().catch(() => {});
      throw new CliError(`store ${opened.description}: ${reason(error)}`, 1);
    }
  }
  return opened;
}

/** A driver error as one short line. */
function reason(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return reason(error.errors[0]);
  }
  const e = error as { code?: unknown; message?: unknown } | undefined;
  const message = typeof e?.message === 'string' && e.message ? e.message : String(error);
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const line = message.split('\n')[0] ?? message;
  return code && !line.includes(code) ? `${line} (${code})` : line;
}

async function importDriver<T>(name: string, load: () => Promise<T>, install: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new CliError(`this store needs the ${name} package: ${install}`, 1);
    }
    throw new CliError(`the ${name} package failed to load: ${reason(error)}`, 1);
  }
}

async function openSqlite(url: string, options: OpenStoreOptions): Promise<OpenedStore> {
  const path = url.slice('sqlite:'.length);
  if (path === '' || path.startsWith('//')) {
    throw new CliError(
      `--store ${JSON.stringify(redactText(url))}: expected sqlite:PATH, such as sqlite:./revokit.db or sqlite:/var/lib/revokit.db`,
    );
  }
  const { default: Database } = await importDriver(
    'better-sqlite3',
    () => import('better-sqlite3'),
    'npm install better-sqlite3@12',
  );
  const { SqliteTokenStore } = await import('../stores/sqlite/sqlite-token-store.js');
  const description = `sqlite:${path}`;
  let db: InstanceType<typeof Database>;
  try {
    db = new Database(path);
  } catch (error) {
    throw new CliError(`store ${description}: ${reason(error)}`, 1);
  }
  try {
    const store = new SqliteTokenStore(db, { busyTimeout: options.busyTimeout });
    return {
      kind: 'sqlite',
      tokens: store,
      clients: store,
      description,
      hasClients: async () =>
        db.prepare('SELECT 1 FROM revokit_clients LIMIT 1').get() !== undefined,
      close: async () => {
        await store.close();
        db.close();
      },
    };
  } catch (error) {
    db.close();
    throw new CliError(`store ${description}: ${reason(error)}`, 1);
  }
}

/**
 * Any text with the password of every `scheme://user:password@` in it masked: for
 * messages that quote what the operator typed, URL or not.
 */
export function redactText(text: string): string {
  return text.replace(/(\/\/[^/?#@\s:]*:)[^\s/]*@/g, '$1***@');
}

/** The URL without its password, for logs. */
function redact(parsed: URL): string {
  const copy = new URL(parsed.href);
  if (copy.password) copy.password = '***';
  copy.search = '';
  return copy.href;
}

function parseUrl(url: string, example: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`--store: malformed URL, expected the form ${example}`);
  }
  if (!parsed.hostname) {
    throw new CliError(`--store: the URL names no host, expected the form ${example}`);
  }
  return parsed;
}

async function openPostgres(url: string, options: OpenStoreOptions): Promise<OpenedStore> {
  const parsed = parseUrl(url, 'postgres://USER:PASSWORD@HOST:5432/DATABASE');
  const { default: pg } = await importDriver('pg', () => import('pg'), 'npm install pg');
  const { PostgresTokenStore } = await import('../stores/postgres/postgres-token-store.js');
  const description = redact(parsed);
  const timeout = options.timeout ?? 3000;
  const statementTimeout = Math.max(
    0,
    Math.floor(options.statementTimeout ?? SERVE_STATEMENT_TIMEOUT),
  );
  const pool = new pg.Pool({
    connectionString: url,
    // Fail fast while the database is down (503), instead of queueing on the pool.
    connectionTimeoutMillis: timeout,
    // Sent in the startup packet, so it costs no round trip; the database cancels (rolls
    // back) a statement that outlives the endpoint's wait for it. pg lets a
    // `?statement_timeout=` in the URL override it.
    statement_timeout: statementTimeout,
    // The client's own limit, a second later: a connection whose answers stopped coming
    // (a partition that sent no reset) would otherwise hold its pool slot, and the store's
    // batch slot, for ever. A query that times out drops its connection from the pool.
    query_timeout: statementTimeout > 0 ? statementTimeout + 1000 : undefined,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    max: 10,
    idleTimeoutMillis: 30_000,
  });
  // Without a listener, an idle connection dropped by the server would crash the process.
  pool.on('error', (error) =>
    options.logger?.warn('postgres connection lost; the pool reconnects on demand', {
      error: reason(error),
    }),
  );
  const store = new PostgresTokenStore(pool, { batchQueueTimeout: options.batchQueueTimeout });
  return {
    kind: 'postgres',
    tokens: store,
    clients: store,
    description,
    hasClients: async () =>
      ((await pool.query('SELECT 1 FROM revokit_clients LIMIT 1')).rowCount ?? 0) > 0,
    close: () => pool.end(),
  };
}

async function openRedis(url: string, options: OpenStoreOptions): Promise<OpenedStore> {
  const parsed = parseUrl(url, 'redis://[:PASSWORD@]HOST:6379[/DB]');
  const { Redis } = await importDriver('ioredis', () => import('ioredis'), 'npm install ioredis');
  const { RedisTokenStore } = await import('../stores/redis/redis-token-store.js');
  const description = redact(parsed);
  const database = parsed.pathname.replace(/^\//, '');
  if (!/^\d{0,5}$/.test(database)) {
    throw new CliError(
      `--store ${description}: the Redis database must be a number, as in redis://HOST:6379/0`,
    );
  }
  const timeout = options.timeout ?? 3000;
  const redis = new Redis(url, {
    lazyConnect: true,
    // While Redis is down, commands fail at once (503) instead of queueing without bound;
    // the client keeps reconnecting in the background and recovers by itself.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: timeout,
    // The handshake (AUTH, SELECT, the ready check) gets the connect timeout; the long
    // timeout of the operator commands is set once connected.
    commandTimeout: timeout,
    retryStrategy: (times) => Math.min(100 * times, 2000),
    // No auto-pipelining: the store already sends one command per kind of call and turn of
    // the event loop (TurnBatch), and ioredis's pipeline, which waits for a later tick and
    // costs a Pipeline per flush, cut Redis revocation from ~0.45 to ~0.28 of the
    // baseline in A/B bench runs (issue #5).
    enableAutoPipelining: false,
  });
  let connected = false;
  let down = false;
  let lastError: unknown;
  redis.on('error', (error) => {
    lastError = error;
    // One line per outage, not one per reconnection attempt; none before the first connect,
    // whose failure is reported as the start-up error.
    if (!connected || down) return;
    down = true;
    options.logger?.warn('redis connection lost; reconnecting', { error: reason(error) });
  });
  // A server that closes the connection cleanly (a restart, CLIENT KILL) emits no error.
  redis.on('reconnecting', () => {
    if (!connected || down) return;
    down = true;
    options.logger?.warn('redis connection lost; reconnecting', { error: 'connection closed' });
  });
  redis.on('ready', () => {
    if (down) options.logger?.info('redis connection restored');
    connected = true;
    down = false;
  });
  let deadline: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      redis.connect(),
      new Promise((_, reject) => {
        deadline = setTimeout(
          () => reject(new Error(`no answer within ${(2 * timeout) / 1000} s`)),
          2 * timeout,
        );
      }),
    ]);
    // ioredis reports a failed SELECT (a database past the server's count) only as an
    // 'error' event, then goes on with database 0: select again, and fail if it fails.
    if (database && Number(database) !== 0) await redis.select(Number(database));
  } catch (error) {
    redis.disconnect();
    throw new CliError(`store ${description}: ${reason(lastError ?? error)}`, 1);
  } finally {
    clearTimeout(deadline);
  }
  redis.options.commandTimeout = options.commandTimeout ?? 5000;
  // A command timeout fails the command and keeps the socket, which after a partition that
  // sent no reset would stay dead for ever: a socket silent past it is dropped, and
  // ioredis reconnects.
  redis.options.socketTimeout = redis.options.commandTimeout + 1000;
  const store = new RedisTokenStore(redis, { retention: options.retention });
  return {
    kind: 'redis',
    tokens: store,
    clients: store,
    description,
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
