import type BetterSqlite3 from 'better-sqlite3';
import type { Client } from '../../client-auth/client.js';
import {
  type SaveClientResult,
  sameClient,
  type WritableClientStore,
} from '../../client-auth/client-store.js';
import type { ReplayCache } from '../../client-auth/jti-cache.js';
import {
  CLIENT_COLUMNS,
  ClientRecordError,
  clientFromRecord,
  clientToRecord,
} from '../client-record.js';
import { SchemaVersionError } from '../schema-version-error.js';
import {
  checkTokens,
  TOKEN_COLUMNS,
  type TokenRow,
  tokenFromRow,
  wholeSeconds,
} from '../token-record.js';
import {
  assertFilter,
  type ConditionalRevocation,
  DEFAULT_PURGE_BATCH,
  type MigrationResult,
  meetsConditions,
  type PurgeOptions,
  type RevocationConditions,
  type RevokeFilter,
  type RevokeGrantOptions,
  type StoredToken,
  type TokenStore,
} from '../token-store.js';
import { TurnBatch } from '../turn-batch.js';
import { BUSY_SLICE_MS, BusyQueue, blockWhileBusy } from './sqlite-busy.js';
import { type Checkpointer, startCheckpointer } from './sqlite-checkpointer.js';
import { SQLITE_MIGRATIONS } from './sqlite-migrations.js';

type Database = BetterSqlite3.Database;
type Statement = BetterSqlite3.Statement<unknown[], unknown>;

interface Revocation {
  readonly id: string;
  readonly at: number | null;
}

interface ConditionalAsk {
  readonly id: string;
  readonly conditions: RevocationConditions;
}

/** Options of {@link SqliteTokenStore}. */
export interface SqliteTokenStoreOptions {
  /**
   * How long a write waits for another connection's lock before failing, in ms (default
   * 2000); a failure answers 503. A call of the request path (revocations, cascades,
   * assertion records, lookups, client reads) waits on timers, so the server keeps
   * answering meanwhile;
   * the synchronous methods (`migrate`, `saveTokens`, `revokeWhere`, `saveClient`) block
   * the thread. The connection's own `busy_timeout` is set to 2 ms, which also applies to
   * any statement of yours on it.
   */
  readonly busyTimeout?: number;
  /**
   * SQLite's page cache for this connection, in MiB (default 64). A lookup whose pages are
   * not cached reads them from the file: at 10^6 tokens and more, SQLite's default of
   * 2 MiB (16 MiB as better-sqlite3 builds it) held too few of the pages that the tokens in
   * use live on, and a lookup cost twice as much as at 10^3 (issue #5 "flat cost").
   */
  readonly cacheSizeMiB?: number;
  /**
   * Who checkpoints the WAL into the database file. `'background'` (default, for a
   * database file): a worker thread with a connection of its own, every 100 ms, so the
   * fsync a checkpoint ends with never stalls the event loop. `'inline'`: SQLite's own
   * automatic checkpoint, on the connection that commits.
   */
  readonly checkpoint?: 'background' | 'inline';
  /**
   * With `checkpoint: 'background'`, the WAL size in MiB (default 256) past which the
   * checkpointer makes writers wait for a checkpoint that empties it. Writes that never
   * pause leave the background checkpoint no moment to let the WAL start over, and it
   * would grow without bound (7 MB a second at a steady 1,700 revocations a second). Each
   * such checkpoint holds writes back for about as long as a background checkpoint takes
   * (0.05–0.2 s at 4,000 revocations a second here); a larger limit makes them rarer, for
   * more disk.
   */
  readonly walLimitMiB?: number;
}

/**
 * A size option in MiB: a positive, finite number. A NaN would reach SQLite as a syntax
 * error (the page cache) or pass every size check and empty the WAL every 100 ms.
 */
function mebibytes(name: string, value: number | undefined, fallback: number): number {
  const size = value ?? fallback;
  if (!(size > 0 && Number.isFinite(size))) {
    throw new RangeError(`${name}: a positive number of MiB, not ${size}`);
  }
  return size;
}

const FILTER_COLUMNS = [
  ['clientId', 'client_id'],
  ['sub', 'sub'],
  ['grantId', 'grant_id'],
] as const;

// A cascade marks the grant only (one row, however many tokens it holds), so a token's
// revocation is its own, else its grant's.
const SELECT_TOKEN = `SELECT ${TOKEN_COLUMNS.map((column) =>
  column === 'revoked_at' ? 'COALESCE(t.revoked_at, g.revoked_at) AS revoked_at' : `t.${column}`,
).join(', ')}
  FROM revokit_tokens t LEFT JOIN revokit_revoked_grants g ON g.grant_id = t.grant_id
  WHERE t.id = ?`;

/** Tokens of a revoked grant are revoked already: a later revocation must not count them. */
const GRANT_LIVE = `NOT EXISTS (SELECT 1 FROM revokit_revoked_grants g
  WHERE g.grant_id = revokit_tokens.grant_id)`;

/**
 * A {@link TokenStore} and {@link WritableClientStore} on SQLite through `better-sqlite3`:
 * the embedded default of `revokit serve`. Pass a `Database` you opened; the store puts it
 * in WAL mode, so readers never wait for the writer, and sets its busy timeout. Call
 * {@link migrate} once before use.
 *
 * Every write runs in a `BEGIN IMMEDIATE` transaction, so several processes sharing one
 * file serialise their writes instead of deadlocking on a lock upgrade.
 *
 * @example
 * ```ts
 * import Database from 'better-sqlite3';
 * const store = new SqliteTokenStore(new Database('revokit.db'));
 * store.migrate();
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export class SqliteTokenStore implements ReplayCache, TokenStore, WritableClientStore {
  readonly db: Database;
  #statements: ReturnType<typeof prepare> | undefined;
  readonly #filterStatements = new Map<string, Statement>();
  readonly #busyTimeout: number;
  /** Writes of the request path waiting for another connection's lock, one at a time. */
  readonly #writes: BusyQueue;
  /** Lookups, apart: a WAL reader is refused only in rare moments, and never by a writer. */
  readonly #reads: BusyQueue;

  constructor(db: Database, options: SqliteTokenStoreOptions = {}) {
    const walLimitMiB = mebibytes('walLimitMiB', options.walLimitMiB, 256);
    const cacheSizeMiB = mebibytes('cacheSizeMiB', options.cacheSizeMiB, 64);
    this.db = db;
    this.#busyTimeout = Math.max(0, Math.floor(options.busyTimeout ?? 2000));
    this.#writes = new BusyQueue(this.#busyTimeout);
    this.#reads = new BusyQueue(this.#busyTimeout);
    db.pragma('journal_mode = WAL');
    db.pragma(`busy_timeout = ${Math.min(this.#busyTimeout, BUSY_SLICE_MS)}`);
    db.pragma(`cache_size = -${Math.max(1, Math.floor(cacheSizeMiB * 1024))}`);
    if ((options.checkpoint ?? 'background') === 'background' && !db.memory && !db.readonly) {
      this.#checkpointer = startCheckpointer(
        db.name,
        100,
        walLimitMiB * 1024 * 1024,
        () => {
          if (db.open) db.pragma('wal_autocheckpoint = 1000');
        },
        () => db.open,
      );
      if (this.#checkpointer) db.pragma('wal_autocheckpoint = 0');
    }
  }

  readonly #checkpointer: Checkpointer | undefined;

  /** Statements are prepared once, after the schema exists, and reused for every call. */
  get #s(): ReturnType<typeof prepare> {
    this.#statements ??= prepare(this.db);
    return this.#statements;
  }

  /**
   * Brings the schema to the latest version, in one immediate transaction so two
   * processes starting at once cannot both apply a step. Idempotent.
   */
  migrate(): MigrationResult {
    const db = this.db;
    const result = blockWhileBusy(
      () =>
        db
          .transaction((): MigrationResult => {
            db.exec(`CREATE TABLE IF NOT EXISTS revokit_migrations (
        version INTEGER PRIMARY KEY NOT NULL,
        applied_at INTEGER NOT NULL
      )`);
            const row = db
              .prepare('SELECT MAX(version) AS version FROM revokit_migrations')
              .get() as {
              version: number | null;
            };
            const current = row.version ?? 0;
            const latest = SQLITE_MIGRATIONS[SQLITE_MIGRATIONS.length - 1]?.version ?? 0;
            if (current > latest) throw new SchemaVersionError(current, latest);
            const record = db.prepare(
              'INSERT INTO revokit_migrations (version, applied_at) VALUES (?, ?)',
            );
            for (const migration of SQLITE_MIGRATIONS) {
              if (migration.version <= current) continue;
              db.exec(migration.sql);
              record.run(migration.version, Math.floor(Date.now() / 1000));
            }
            return { from: current, to: Math.max(current, latest) };
          })
          .immediate(),
      this.#busyTimeout,
    );
    this.#statements = undefined;
    return result;
  }

  /** The schema version the database is at (0 before {@link migrate}). */
  schemaVersion(): number {
    const exists = this.db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'revokit_migrations'")
      .get();
    if (!exists) return 0;
    const row = this.db.prepare('SELECT MAX(version) AS v FROM revokit_migrations').get() as {
      v: number | null;
    };
    return row.v ?? 0;
  }

  /**
   * One indexed lookup by digest. The lookups asked for in one turn of the event loop run
   * together at the end of the turn, in one read transaction: a statement run alone is a
   * read transaction of its own, whose WAL read lock costs about 4 µs of the 5 µs the
   * lookup takes (issue #5). The snapshot is taken when they run, after every request of
   * the turn has arrived, so each lookup sees what was committed before its request came.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.1
   */
  findToken(id: string): Promise<StoredToken | undefined> {
    return this.#lookups.add(id);
  }

  readonly #lookups = new TurnBatch<string, StoredToken | undefined>((ids) =>
    this.#reads.run(() => (ids.length === 1 ? [this.#s.find(ids[0]!)] : this.#s.findMany(ids))),
  );

  /**
   * Revokes one token. Revocations asked for in the same turn of the event loop are written
   * in one transaction, committed before any of them resolves (group commit): a commit
   * costs about five times what the row does, and under load many requests arrive in one
   * turn. If the transaction fails, every revocation in it rejects and none is written.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
   */
  revokeToken(id: string, at: number): Promise<number> {
    return this.#revocations.add({ id, at: wholeSeconds(at) });
  }

  readonly #revocations = new TurnBatch<Revocation, number>((batch) =>
    this.#writes.run(() => this.#s.revokeTokens.immediate(batch)),
  );

  /**
   * Finds a token and revokes it if it meets the conditions, in one write transaction;
   * those asked for in one turn share it, as {@link revokeToken}'s do. The revocation
   * endpoint then needs one store call where it would need a lookup and a revocation.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
   */
  revokeTokenIf(id: string, conditions: RevocationConditions): Promise<ConditionalRevocation> {
    return this.#conditionalRevocations.add({ id, conditions });
  }

  readonly #conditionalRevocations = new TurnBatch<ConditionalAsk, ConditionalRevocation>((batch) =>
    this.#writes.run(() => this.#s.revokeTokensIf.immediate(batch)),
  );

  /**
   * Marks the grant revoked: one row, whatever the grant holds, so a cascade of 10,000
   * tokens costs what a cascade of one does. Lookups read a token of a marked grant as
   * revoked. The count, unless `options.count` is `false`, is of its tokens not revoked
   * before, in the same transaction: it reads every token of the grant. Answers at once,
   * or a promise if it has to wait for another connection's lock.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
   */
  revokeGrant(
    grantId: string,
    at: number,
    options: RevokeGrantOptions = {},
  ): number | Promise<number> {
    const seconds = wholeSeconds(at);
    const count = options.count ?? true;
    return this.#writes.run(() => this.#s.revokeGrant.immediate(grantId, seconds, count));
  }

  /**
   * Inserts every token in one transaction; a token already stored is left as it is.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
   */
  saveTokens(tokens: readonly StoredToken[]): number {
    checkTokens(tokens);
    if (tokens.length === 0) return 0;
    return blockWhileBusy(() => this.#s.saveTokens.immediate(tokens), this.#busyTimeout);
  }

  /**
   * {@link TokenStore.saveTokensOnce}: the ledger is the `revokit_seeded` table, written in
   * the same transaction as the tokens.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2
   */
  saveTokensOnce(tokens: readonly StoredToken[]): number {
    checkTokens(tokens);
    if (tokens.length === 0) return 0;
    return blockWhileBusy(() => this.#s.saveTokensOnce.immediate(tokens), this.#busyTimeout);
  }

  /** @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1 */
  revokeWhere(filter: RevokeFilter, at: number): number {
    assertFilter(filter);
    if (filter.grantId !== undefined && filter.clientId === undefined && filter.sub === undefined) {
      const grantId = filter.grantId;
      const seconds = wholeSeconds(at);
      return blockWhileBusy(
        () => this.#s.revokeGrant.immediate(grantId, seconds, true),
        this.#busyTimeout,
      );
    }
    const present = FILTER_COLUMNS.filter(([key]) => filter[key] !== undefined);
    const shape = present.map(([key]) => key).join(',');
    let statement = this.#filterStatements.get(shape);
    if (!statement) {
      const where = present.map(([, column]) => `${column} = ?`).join(' AND ');
      statement = this.db.prepare(
        `UPDATE revokit_tokens SET revoked_at = ?
         WHERE ${where} AND revoked_at IS NULL AND ${GRANT_LIVE}`,
      );
      this.#filterStatements.set(shape, statement);
    }
    // One UPDATE is one implicit transaction: all matching tokens or none.
    const run = statement;
    const values = [wholeSeconds(at), ...present.map(([key]) => filter[key])];
    return blockWhileBusy(() => run.run(...values).changes, this.#busyTimeout);
  }

  /**
   * Deletes in batches, each its own short transaction, yielding to the event loop between
   * them so a server sharing the process keeps answering.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2
   */
  async purge({ expiredBefore, batchSize = DEFAULT_PURGE_BATCH }: PurgeOptions): Promise<number> {
    const cutoff = wholeSeconds(expiredBefore);
    const limit = Math.max(1, Math.floor(batchSize));
    let total = 0;
    for (;;) {
      const deleted = await this.#writes.run(
        () => this.#s.purgeTokens.run({ cutoff, limit }).changes,
      );
      total += deleted;
      if (deleted < limit) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    for (;;) {
      const deleted = await this.#writes.run(() => this.#s.purgeGrants.run(cutoff, limit).changes);
      if (deleted < limit) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    // An assertion's record is needed only until it expires, whatever the retention.
    const now = Math.floor(Date.now() / 1000);
    await this.#writes.run(() => this.#s.purgeAssertions.run(now));
    return total;
  }

  /**
   * Records a client assertion's `jti`, atomically for every process on the database: an
   * insert, or the reuse of an expired record.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7523#section-3
   */
  rememberAssertion(clientId: string, jti: string, expiresAt: number): boolean | Promise<boolean> {
    const now = Math.floor(Date.now() / 1000);
    const until = Math.ceil(expiresAt);
    return this.#writes.run(
      () => this.#s.rememberAssertion.run(clientId, jti, until, now).changes === 1,
    );
  }

  /**
   * Reads a client on the request path, so a read refused in SQLite's rare moments (a WAL
   * recovery by another process) waits on timers as a lookup does, instead of failing
   * after the connection's 2 ms. Answers at once unless it had to wait.
   *
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3
   */
  getClient(clientId: string): Client | undefined | Promise<Client | undefined> {
    return this.#reads.run(() => {
      const row = this.#s.getClient.get(clientId) as Record<string, unknown> | undefined;
      return row ? clientFromRecord(row) : undefined;
    });
  }

  /**
   * Inserts or replaces a client, saying which it did; an identical client is left alone.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
   */
  saveClient(client: Client): SaveClientResult {
    return blockWhileBusy(() => this.#s.saveClient.immediate(client), this.#busyTimeout);
  }

  /**
   * Writes revocations still waiting for their turn's commit, at once, waits for the writes
   * queued behind another connection's lock (at most `busyTimeout`), then stops the
   * background checkpointer; the `Database` stays the caller's to close.
   */
  async close(): Promise<void> {
    this.#lookups.flush();
    this.#revocations.flush();
    this.#conditionalRevocations.flush();
    // Closed under them, they would fail; given their time, they go through once the lock
    // is let go, and the requests waiting on them are answered with the truth.
    await Promise.all([this.#writes.idle(), this.#reads.idle()]);
    await this.#checkpointer?.stop();
  }
}

function prepare(db: Database) {
  const find = db.prepare(SELECT_TOKEN);
  const revokeToken = db.prepare(
    `UPDATE revokit_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL AND ${GRANT_LIVE}`,
  );
  const markGrant = db.prepare(
    'INSERT INTO revokit_revoked_grants (grant_id, revoked_at) VALUES (?, ?) ON CONFLICT (grant_id) DO NOTHING',
  );
  const countLive = db
    .prepare('SELECT count(*) FROM revokit_tokens WHERE grant_id = ? AND revoked_at IS NULL')
    .pluck();
  const insertToken = db.prepare(
    `INSERT INTO revokit_tokens (id, ${TOKEN_COLUMNS.join(', ')})
     VALUES (?, ?, ?, ?, ?, ?,
       COALESCE(?, (SELECT revoked_at FROM revokit_revoked_grants WHERE grant_id = ?)), ?, ?)
     ON CONFLICT (id) DO NOTHING`,
  );
  const purgeTokens = db.prepare(
    `DELETE FROM revokit_tokens WHERE id IN (
       SELECT id FROM revokit_tokens WHERE expires_at < @cutoff
       UNION ALL
       SELECT id FROM revokit_tokens WHERE expires_at IS NULL AND revoked_at < @cutoff
       UNION ALL
       SELECT t.id FROM revokit_revoked_grants g JOIN revokit_tokens t ON t.grant_id = g.grant_id
       WHERE g.revoked_at < @cutoff AND t.expires_at IS NULL AND t.revoked_at IS NULL
       LIMIT @limit)`,
  );
  const purgeGrants = db.prepare(
    `DELETE FROM revokit_revoked_grants WHERE grant_id IN (
       SELECT g.grant_id FROM revokit_revoked_grants g
       WHERE g.revoked_at < ?
         AND NOT EXISTS (SELECT 1 FROM revokit_tokens t WHERE t.grant_id = g.grant_id)
       LIMIT ?)`,
  );
  const rememberAssertion = db.prepare(
    `INSERT INTO revokit_assertions (client_id, jti, expires_at) VALUES (?, ?, ?)
     ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = excluded.expires_at
     WHERE revokit_assertions.expires_at <= ?`,
  );
  const purgeAssertions = db.prepare('DELETE FROM revokit_assertions WHERE expires_at <= ?');
  const seed = db.prepare('INSERT OR IGNORE INTO revokit_seeded (id) VALUES (?)');
  const insert = (tokens: readonly StoredToken[]): number => {
    let inserted = 0;
    for (const token of tokens) {
      inserted += insertToken.run(
        token.id,
        token.type,
        token.clientId,
        token.grantId,
        wholeSeconds(token.issuedAt),
        wholeSeconds(token.expiresAt),
        wholeSeconds(token.revokedAt),
        token.grantId,
        token.scope ?? null,
        token.sub ?? null,
      ).changes;
    }
    return inserted;
  };
  const getClient = db.prepare(
    `SELECT ${CLIENT_COLUMNS.join(', ')} FROM revokit_clients WHERE client_id = ?`,
  );
  const upsertClient = db.prepare(
    `INSERT INTO revokit_clients (${CLIENT_COLUMNS.join(', ')})
     VALUES (${CLIENT_COLUMNS.map(() => '?').join(', ')})
     ON CONFLICT (client_id) DO UPDATE SET ${CLIENT_COLUMNS.slice(1)
       .map((column) => `${column} = excluded.${column}`)
       .join(', ')}`,
  );

  const findOne = (id: string): StoredToken | undefined => {
    const row = find.get(id) as TokenRow | undefined;
    return row ? tokenFromRow(id, row) : undefined;
  };

  return {
    rememberAssertion,
    purgeAssertions,
    find: findOne,
    // Deferred: a read transaction, one WAL read lock for the whole batch.
    findMany: db.transaction((ids: readonly string[]) => ids.map(findOne)),
    revokeTokens: db.transaction((batch: readonly Revocation[]): number[] =>
      batch.map(({ id, at }) => revokeToken.run(at, id).changes),
    ),
    revokeTokensIf: db.transaction((batch: readonly ConditionalAsk[]) =>
      batch.map(({ id, conditions }): ConditionalRevocation => {
        const token = findOne(id);
        if (!meetsConditions(token, conditions)) return { token, revoked: false };
        return { token, revoked: revokeToken.run(wholeSeconds(conditions.at), id).changes === 1 };
      }),
    ),
    purgeTokens,
    purgeGrants,
    getClient,
    revokeGrant: db.transaction((grantId: string, at: number | null, count: boolean): number => {
      if (markGrant.run(grantId, at).changes === 0) return 0;
      return count ? (countLive.get(grantId) as number) : 1;
    }),
    saveTokens: db.transaction((tokens: readonly StoredToken[]): number => insert(tokens)),
    saveTokensOnce: db.transaction((tokens: readonly StoredToken[]): number =>
      insert(tokens.filter((token) => seed.run(token.id).changes === 1)),
    ),
    saveClient: db.transaction((client: Client): SaveClientResult => {
      const row = getClient.get(client.clientId) as Record<string, unknown> | undefined;
      if (row && storedIsSame(row, client)) return 'unchanged';
      const record = clientToRecord(client);
      upsertClient.run(
        ...CLIENT_COLUMNS.map((column) =>
          column === 'resource_server' ? (record.resource_server ? 1 : 0) : record[column],
        ),
      );
      return row ? 'updated' : 'inserted';
    }),
  };
}

/**
 * Whether the stored row already holds this client. A row that cannot be read back (a
 * corrupt `jwks`) holds no client a save could equal, so saving over it replaces it: that
 * is how a seed repairs it, as the PostgreSQL and Redis stores do by comparing stored text.
 */
function storedIsSame(row: Record<string, unknown>, client: Client): boolean {
  try {
    return sameClient(clientFromRecord(row), client);
  } catch (error) {
    if (error instanceof ClientRecordError) return false;
    throw error;
  }
}
