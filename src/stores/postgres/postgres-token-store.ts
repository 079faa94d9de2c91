import type { Pool, PoolClient } from 'pg';
import type { Client } from '../../client-auth/client.js';
import type { SaveClientResult, WritableClientStore } from '../../client-auth/client-store.js';
import type { ReplayCache } from '../../client-auth/jti-cache.js';
import { CLIENT_COLUMNS, clientFromRecord, clientToRecord } from '../client-record.js';
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
  type PurgeOptions,
  type RevocationConditions,
  type RevokeFilter,
  type RevokeGrantOptions,
  type StoredToken,
  type TokenStore,
} from '../token-store.js';
import { TurnBatch, type TurnBatchOptions } from '../turn-batch.js';
import { POSTGRES_MIGRATIONS } from './postgres-migrations.js';

/** Options of {@link PostgresTokenStore}. */
export interface PostgresTokenStoreOptions {
  /** Tokens per `INSERT` statement of {@link PostgresTokenStore.saveTokens} (default 5000). */
  readonly insertChunk?: number;
  /**
   * How many batched statements of one kind (lookups, revocations, client reads) may run at
   * once (default 2). The calls made meanwhile wait and go in one statement when a running
   * one ends. Under load that means fewer, larger statements on fewer backends: with a
   * statement per turn of the event loop, as many backends as the pool holds took turns on
   * the CPUs, and the database's CPU a lookup grew from 10–18 µs at 10^3 stored tokens to
   * 50–113 µs at 10^6; with 2, 22–24 µs at 10^6 (issue #5, docs/benchmarks.md).
   */
  readonly concurrentBatches?: number;
  /**
   * How long, in ms, a call may wait for a running statement before it is answered as
   * failed (503) without being sent (default 500). It bounds when a revocation can take
   * effect: the wait, then `statement_timeout` (4000 ms under `revokit serve`), stay inside
   * the endpoints' 5000 ms store timeout, so a revocation answered 503 is never committed.
   */
  readonly batchQueueTimeout?: number;
}

/** Default {@link PostgresTokenStoreOptions.concurrentBatches}. */
const DEFAULT_CONCURRENT_BATCHES = 2;
/** Default {@link PostgresTokenStoreOptions.batchQueueTimeout}, in ms. */
const DEFAULT_BATCH_QUEUE_TIMEOUT = 500;

/** Serialises concurrent `migrate()` calls across servers: any constant, the same for all. */
const MIGRATION_LOCK = 70_097_662;

// A token's own revocation, else its grant's: the cascade writes only the grant row.
const TOKEN_SELECT = `
SELECT t.id, ${TOKEN_COLUMNS.map((column) =>
  column === 'revoked_at' ? 'COALESCE(t.revoked_at, g.revoked_at) AS revoked_at' : `t.${column}`,
).join(', ')}
FROM revokit_tokens t
LEFT JOIN revokit_grants g ON g.grant_id = t.grant_id AND g.revoked_at IS NOT NULL`;
const FIND_TOKEN = { name: 'revokit_find_token', text: `${TOKEN_SELECT} WHERE t.id = $1` };
const FIND_TOKENS = {
  name: 'revokit_find_tokens',
  text: `${TOKEN_SELECT} WHERE t.id = ANY($1::text[])`,
};

const REVOKE_TOKEN = {
  name: 'revokit_revoke_token',
  text: 'SELECT revokit_revoke_token($1, $2) AS n',
};
const REVOKE_TOKENS = {
  name: 'revokit_revoke_tokens',
  text: 'SELECT revokit_revoke_tokens($1::text[], $2::bigint[]) AS ids',
};

/** SQLSTATE deadlock_detected: PostgreSQL rolled the transaction back, nothing of it stays. */
const DEADLOCK_DETECTED = '40P01';

/**
 * Runs a transaction again when PostgreSQL chose it as a deadlock's victim (at most three
 * tries). Batched revocations lock rows in their plan's order (schema version 5), so two
 * writers revoking the same tokens at the same moment can deadlock; the victim was rolled
 * back whole, so running it again is safe.
 */
async function retryDeadlock<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (attempt >= 3 || (error as { code?: unknown }).code !== DEADLOCK_DETECTED) throw error;
    }
  }
}

interface Revocation {
  readonly id: string;
  readonly at: number | null;
}
const REVOKE_TOKENS_IF = {
  name: 'revokit_revoke_tokens_if',
  text: 'SELECT * FROM revokit_revoke_tokens_if($1::text[], $2::text[], $3::text[], $4::bigint[])',
};

interface ConditionalAsk {
  readonly id: string;
  readonly conditions: RevocationConditions;
}
const REVOKE_GRANT = {
  name: 'revokit_revoke_grant',
  text: 'SELECT revokit_revoke_grant($1, $2, $3) AS n',
};
const GET_CLIENT = {
  name: 'revokit_get_client',
  text: `SELECT ${CLIENT_COLUMNS.join(', ')} FROM revokit_clients WHERE client_id = $1`,
};
const GET_CLIENTS = {
  name: 'revokit_get_clients',
  text: `SELECT ${CLIENT_COLUMNS.join(', ')} FROM revokit_clients WHERE client_id = ANY($1::text[])`,
};

// Locks every grant row of the batch (in grant order, so two batches cannot deadlock),
// reading each grant's revocation from the row it locked, then inserts the tokens with it.
// One statement: atomic on its own, and one round trip.
const SAVE_TOKENS = {
  name: 'revokit_save_tokens',
  text: `
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],
                       $6::bigint[], $7::bigint[], $8::text[], $9::text[])
    AS t(id, type, client_id, grant_id, issued_at, expires_at, revoked_at, scope, sub)
), grants AS (
  INSERT INTO revokit_grants (grant_id)
  SELECT DISTINCT grant_id FROM input ORDER BY grant_id
  ON CONFLICT (grant_id) DO UPDATE SET revoked_at = revokit_grants.revoked_at
  RETURNING grant_id, revoked_at
)
INSERT INTO revokit_tokens (id, ${TOKEN_COLUMNS.join(', ')})
SELECT i.id, i.type, i.client_id, i.grant_id, i.issued_at, i.expires_at,
       COALESCE(i.revoked_at, g.revoked_at), i.scope, i.sub
FROM input i JOIN grants g ON g.grant_id = i.grant_id
ON CONFLICT (id) DO NOTHING`,
};

const SEED_LEDGER = {
  name: 'revokit_seed_ledger',
  text: `INSERT INTO revokit_seeded (id) SELECT DISTINCT unnest($1::text[])
ON CONFLICT (id) DO NOTHING RETURNING id`,
};

// SKIP LOCKED: a row some revocation holds is left for the next purge, not waited for.
// A token ends at COALESCE(own revocation, grant's revocation) when it has no expiry; the
// two halves are two statements so each keeps an index (the partial index on revoked_at,
// the grant_id index) instead of one OR across a join scanning every token per batch.
const PURGE_TOKENS = {
  name: 'revokit_purge_tokens',
  text: `
DELETE FROM revokit_tokens WHERE id IN (
  SELECT id FROM revokit_tokens WHERE expires_at < $1
  LIMIT $2 FOR UPDATE SKIP LOCKED)`,
};
// revoked_at has no index (so that a revocation is a HOT update): the tokens without
// expiry are walked once, in id order, a window at a time, deleting those revoked before
// the cutoff. Returns where the window ended, NULL past the last one.
const PURGE_REVOKED = {
  name: 'revokit_purge_revoked',
  text: `
WITH scan AS (
  SELECT id FROM revokit_tokens WHERE expires_at IS NULL AND id > $2 ORDER BY id LIMIT $3
), doomed AS (
  SELECT t.id FROM revokit_tokens t JOIN scan USING (id)
  WHERE t.revoked_at < $1 FOR UPDATE OF t SKIP LOCKED
), gone AS (
  DELETE FROM revokit_tokens WHERE id IN (SELECT id FROM doomed) RETURNING 1
)
SELECT (SELECT max(id) FROM scan) AS last, (SELECT count(*) FROM gone)::int AS deleted`,
};
const PURGE_GRANT_TOKENS = {
  name: 'revokit_purge_grant_tokens',
  text: `
DELETE FROM revokit_tokens WHERE id IN (
  SELECT t.id FROM revokit_grants g JOIN revokit_tokens t ON t.grant_id = g.grant_id
  WHERE g.revoked_at < $1 AND t.expires_at IS NULL AND t.revoked_at IS NULL
  LIMIT $2 FOR UPDATE OF t SKIP LOCKED)`,
};
const REMEMBER_ASSERTION = {
  name: 'revokit_remember_assertion',
  // Concurrent calls for one pair wait on the key: one inserts, the other sees it live.
  text: `
INSERT INTO revokit_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3)
ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = EXCLUDED.expires_at
WHERE revokit_assertions.expires_at <= $4`,
};

const PURGE_ASSERTIONS = {
  name: 'revokit_purge_assertions',
  text: 'DELETE FROM revokit_assertions WHERE expires_at <= $1',
};

const PURGE_GRANTS = {
  name: 'revokit_purge_grants',
  text: `
DELETE FROM revokit_grants WHERE grant_id IN (
  SELECT g.grant_id FROM revokit_grants g
  WHERE (g.revoked_at IS NULL OR g.revoked_at < $1)
    AND NOT EXISTS (SELECT 1 FROM revokit_tokens t WHERE t.grant_id = g.grant_id)
  LIMIT $2 FOR UPDATE SKIP LOCKED)`,
};

// One statement; `xmax = 0` tells an inserted row from an updated one, and the WHERE
// leaves an identical client untouched (no row returned: unchanged).
const SAVE_CLIENT = {
  name: 'revokit_save_client',
  text: `
INSERT INTO revokit_clients AS c (${CLIENT_COLUMNS.join(', ')})
VALUES (${CLIENT_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
ON CONFLICT (client_id) DO UPDATE SET ${CLIENT_COLUMNS.slice(1)
    .map((column) => `${column} = EXCLUDED.${column}`)
    .join(', ')}
WHERE (${CLIENT_COLUMNS.slice(1)
    .map((column) => `c.${column}`)
    .join(', ')}) IS DISTINCT FROM (${CLIENT_COLUMNS.slice(1)
    .map((column) => `EXCLUDED.${column}`)
    .join(', ')})
RETURNING (xmax = 0) AS inserted`,
};

const FILTER_COLUMNS = [
  ['clientId', 'client_id'],
  ['sub', 'sub'],
  ['grantId', 'grant_id'],
] as const;

/**
 * Locks, for a bulk revocation, every grant its unrevoked tokens belong to, so no cascade
 * of them commits in between (the cascade takes the grant row FOR UPDATE): the row in
 * grant order, FOR KEY SHARE, which rotations (FOR NO KEY UPDATE) do not wait for. Row
 * locks, because a sweep of a large client covers more grants than the shared lock table
 * holds advisory locks (sized max_locks_per_transaction × connections: 20,000 to 40,000
 * with 64 × 200). A grant without a row (tokens inserted by hand) is named apart and takes
 * the advisory lock instead.
 */
const lockGrants = (where: string) => `
WITH candidates AS MATERIALIZED (
  SELECT DISTINCT grant_id FROM revokit_tokens t WHERE ${where} AND t.revoked_at IS NULL
), locked AS (
  SELECT g.grant_id FROM revokit_grants g JOIN candidates c ON c.grant_id = g.grant_id
  ORDER BY g.grant_id FOR KEY SHARE OF g
)
SELECT (SELECT array_agg(grant_id) FROM locked) AS locked,
       (SELECT array_agg(c.grant_id) FROM candidates c
        WHERE NOT EXISTS (SELECT 1 FROM revokit_grants g WHERE g.grant_id = c.grant_id))
         AS rowless`;
// In key order, as every advisory locker of several grants must take them.
const LOCK_ROWLESS_GRANTS = `
SELECT count(pg_advisory_xact_lock_shared(7009, k)) AS n
FROM (SELECT DISTINCT hashtext(grant_id) AS k FROM unnest($1::text[]) AS grant_id ORDER BY k) keys`;
// Only the grants locked above ($2), whose markers this fresh snapshot sees as they stay
// until commit; rows in id order, as every multi-row revocation takes them.
const revokeLocked = (where: string) => `
UPDATE revokit_tokens SET revoked_at = $1
WHERE id IN (SELECT id FROM revokit_tokens t
             WHERE ${where} AND t.revoked_at IS NULL AND t.grant_id = ANY($2::text[])
               AND NOT EXISTS (SELECT 1 FROM revokit_grants g
                               WHERE g.grant_id = t.grant_id AND g.revoked_at IS NOT NULL)
             ORDER BY id FOR UPDATE)
  AND revoked_at IS NULL`;

/**
 * A {@link TokenStore} and {@link WritableClientStore} on PostgreSQL through a `pg` Pool,
 * for several servers sharing one database. Every request-path call is one round trip on
 * a pooled connection, using named (server-side prepared) statements.
 *
 * Give the pool an `'error'` listener, and a `connectionTimeoutMillis`, so a database that
 * goes away fails calls quickly (answered 503) instead of crashing or hanging the server;
 * the pool reconnects by itself when the database is back.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * const pool = new pg.Pool({ connectionString, connectionTimeoutMillis: 2000 });
 * pool.on('error', () => {});
 * const store = new PostgresTokenStore(pool);
 * await store.migrate();
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export class PostgresTokenStore implements ReplayCache, TokenStore, WritableClientStore {
  readonly pool: Pool;
  readonly #insertChunk: number;
  readonly #lookups: TurnBatch<string, StoredToken | undefined>;
  readonly #revocations: TurnBatch<Revocation, number>;
  readonly #conditionalRevocations: TurnBatch<ConditionalAsk, ConditionalRevocation>;
  readonly #clientRecords: TurnBatch<string, Record<string, unknown> | undefined>;

  constructor(pool: Pool, options: PostgresTokenStoreOptions = {}) {
    this.pool = pool;
    this.#insertChunk = Math.max(1, Math.floor(options.insertChunk ?? 5000));
    const batching: TurnBatchOptions = {
      concurrency: Math.max(1, Math.floor(options.concurrentBatches ?? DEFAULT_CONCURRENT_BATCHES)),
      queueTimeout: Math.max(0, options.batchQueueTimeout ?? DEFAULT_BATCH_QUEUE_TIMEOUT),
    };
    this.#lookups = new TurnBatch(this.#runLookups, batching);
    this.#revocations = new TurnBatch(this.#runRevocations, batching);
    this.#conditionalRevocations = new TurnBatch(this.#runConditionalRevocations, batching);
    this.#clientRecords = new TurnBatch(this.#runClientRecords, batching);
  }

  /**
   * Brings the schema to the latest version in one transaction, under an advisory lock so
   * servers starting together apply each step once. Idempotent.
   */
  async migrate(): Promise<MigrationResult> {
    return this.#transaction(async (client): Promise<MigrationResult> => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query(`CREATE TABLE IF NOT EXISTS revokit_migrations (
        version integer PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const { rows } = await client.query<{ version: number | null }>(
        'SELECT MAX(version) AS version FROM revokit_migrations',
      );
      const current = rows[0]?.version ?? 0;
      const latest = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1]?.version ?? 0;
      if (current > latest) throw new SchemaVersionError(current, latest);
      for (const migration of POSTGRES_MIGRATIONS) {
        if (migration.version <= current) continue;
        await client.query(migration.sql);
        await client.query('INSERT INTO revokit_migrations (version) VALUES ($1)', [
          migration.version,
        ]);
      }
      return { from: current, to: Math.max(current, latest) };
    });
  }

  /** The schema version the database is at (0 before {@link migrate}). */
  async schemaVersion(): Promise<number> {
    const { rows } = await this.pool.query<{ exists: boolean }>(
      "SELECT to_regclass('revokit_migrations') IS NOT NULL AS exists",
    );
    if (!rows[0]?.exists) return 0;
    const result = await this.pool.query<{ v: number | null }>(
      'SELECT MAX(version) AS v FROM revokit_migrations',
    );
    return result.rows[0]?.v ?? 0;
  }

  /**
   * One primary-key lookup by digest, joined to its grant: a token of a revoked grant reads
   * revoked at the grant's time unless it was revoked before. The lookups asked for in one
   * turn of the event loop go to the database as one query (`id = ANY(...)`): under load
   * fifty requests cost one round trip and one statement, not fifty (issue #5). A query
   * that fails rejects every lookup in it (answered 503).
   *
   * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.1
   */
  findToken(id: string): Promise<StoredToken | undefined> {
    return this.#lookups.add(id);
  }

  readonly #runLookups = async (ids: readonly string[]): Promise<(StoredToken | undefined)[]> => {
    if (ids.length === 1) {
      const [id] = ids as [string];
      const { rows } = await this.pool.query<TokenRow>({ ...FIND_TOKEN, values: [id] });
      return [rows[0] ? tokenFromRow(id, rows[0]) : undefined];
    }
    const { rows } = await this.pool.query<TokenRow & { id: string }>({
      ...FIND_TOKENS,
      values: [[...new Set(ids)]],
    });
    const found = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => {
      const row = found.get(id);
      return row ? tokenFromRow(id, row) : undefined;
    });
  };

  /**
   * Under its grant's shared advisory lock, so a racing cascade counts the token or this
   * does, never both; a token of a revoked grant counts 0. The revocations asked for in
   * one turn of the event loop are one transaction (`revokit_revoke_tokens`): one round
   * trip and one WAL flush for all of them, committed before any resolves. If it fails,
   * every revocation in it rejects (answered 503) and none is written.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
   */
  revokeToken(id: string, at: number): Promise<number> {
    return this.#revocations.add({ id, at: wholeSeconds(at) });
  }

  readonly #runRevocations = async (batch: readonly Revocation[]): Promise<number[]> => {
    if (batch.length === 1) {
      const [{ id, at }] = batch as [Revocation];
      const { rows } = await this.pool.query<{ n: number }>({ ...REVOKE_TOKEN, values: [id, at] });
      return [rows[0]?.n ?? 0];
    }
    const { rows } = await retryDeadlock(() =>
      this.pool.query<{ ids: string[] }>({
        ...REVOKE_TOKENS,
        values: [batch.map((r) => r.id), batch.map((r) => r.at)],
      }),
    );
    // Each id revoked counts once, for the first revocation that asked for it (whose time
    // is the one recorded: DISTINCT ON keeps the first of the array).
    const revoked = new Set(rows[0]?.ids ?? []);
    return batch.map(({ id }) => (revoked.delete(id) ? 1 : 0));
  };

  /**
   * Finds a token and revokes it if it meets the conditions, in one statement
   * (`revokit_revoke_tokens_if`) under its grant's shared advisory lock, as
   * {@link revokeToken}: one round trip where the revocation endpoint would need two. Those
   * asked for in one turn of the event loop are one transaction, run again if it was a
   * deadlock's victim; if it fails, every call in it rejects and none is written.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
   */
  revokeTokenIf(id: string, conditions: RevocationConditions): Promise<ConditionalRevocation> {
    return this.#conditionalRevocations.add({ id, conditions });
  }

  readonly #runConditionalRevocations = async (
    batch: readonly ConditionalAsk[],
  ): Promise<ConditionalRevocation[]> => {
    const values = [
      batch.map((ask) => ask.id),
      batch.map((ask) => ask.conditions.clientId),
      batch.map((ask) => ask.conditions.types.join(' ')),
      batch.map((ask) => wholeSeconds(ask.conditions.at)),
    ];
    const { rows } = await retryDeadlock(() =>
      this.pool.query<TokenRow & { id: string; revoked: boolean }>({
        ...REVOKE_TOKENS_IF,
        values,
      }),
    );
    const found = new Map(rows.map((row) => [row.id, row]));
    return batch.map(({ id, conditions }) => {
      const row = found.get(id);
      if (!row) return { token: undefined, revoked: false };
      const token = tokenFromRow(id, row);
      if (!row.revoked) return { token, revoked: false };
      // Only the first asking of a token revoked it; a later one finds it revoked.
      row.revoked = false;
      row.revoked_at = wholeSeconds(conditions.at);
      return { token, revoked: true };
    });
  };

  /**
   * Marks the grant revoked: one row written, whatever the grant's size; its tokens read
   * revoked through the marker. Counts the tokens that were not revoked yet, unless
   * `options.count` is `false`: counting reads every token row of the grant.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
   */
  async revokeGrant(
    grantId: string,
    at: number,
    options: RevokeGrantOptions = {},
  ): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>({
      ...REVOKE_GRANT,
      values: [grantId, wholeSeconds(at), options.count ?? true],
    });
    return rows[0]?.n ?? 0;
  }

  /**
   * Inserts every token, all or none; a token already stored is left as it is. A large
   * batch goes in several statements of one transaction.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
   */
  async saveTokens(tokens: readonly StoredToken[]): Promise<number> {
    checkTokens(tokens);
    if (tokens.length === 0) return 0;
    if (tokens.length <= this.#insertChunk) {
      return (await this.pool.query({ ...SAVE_TOKENS, values: columnsOf(tokens) })).rowCount ?? 0;
    }
    // Grant order across chunks too, so two large saves lock grants in the same order.
    const sorted = byGrant(tokens);
    return this.#transaction((client) => this.#insert(client, sorted));
  }

  /**
   * {@link TokenStore.saveTokensOnce}: the ledger is the `revokit_seeded` table, written in
   * the same transaction as the tokens.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2
   */
  async saveTokensOnce(tokens: readonly StoredToken[]): Promise<number> {
    checkTokens(tokens);
    if (tokens.length === 0) return 0;
    const sorted = byGrant(tokens);
    return this.#transaction(async (client) => {
      const { rows } = await client.query<{ id: string }>({
        ...SEED_LEDGER,
        values: [sorted.map((token) => token.id)],
      });
      const fresh = new Set(rows.map((row) => row.id));
      return this.#insert(
        client,
        sorted.filter((token) => fresh.has(token.id)),
      );
    });
  }

  async #insert(client: PoolClient, tokens: readonly StoredToken[]): Promise<number> {
    let inserted = 0;
    for (let i = 0; i < tokens.length; i += this.#insertChunk) {
      const chunk = tokens.slice(i, i + this.#insertChunk);
      inserted += (await client.query({ ...SAVE_TOKENS, values: columnsOf(chunk) })).rowCount ?? 0;
    }
    return inserted;
  }

  /**
   * One transaction: locks the grants of the matching tokens against their cascades, then
   * one `UPDATE` of the tokens whose grant is not revoked. All matching tokens or none.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
   */
  async revokeWhere(filter: RevokeFilter, at: number): Promise<number> {
    assertFilter(filter);
    if (filter.grantId !== undefined && filter.clientId === undefined && filter.sub === undefined) {
      return this.revokeGrant(filter.grantId, at);
    }
    const present = FILTER_COLUMNS.filter(([key]) => filter[key] !== undefined);
    const values = present.map(([key]) => filter[key]);
    const where = (first: number) =>
      present.map(([, column], i) => `t.${column} = $${i + first}`).join(' AND ');
    return retryDeadlock(() =>
      this.#transaction(async (client) => {
        const { rows } = await client.query<{ locked: string[] | null; rowless: string[] | null }>(
          lockGrants(where(1)),
          values,
        );
        const rowless = rows[0]?.rowless ?? [];
        if (rowless.length > 0) await client.query(LOCK_ROWLESS_GRANTS, [rowless]);
        const grants = [...(rows[0]?.locked ?? []), ...rowless];
        if (grants.length === 0) return 0;
        const result = await client.query(revokeLocked(where(3)), [
          wholeSeconds(at),
          grants,
          ...values,
        ]);
        return result.rowCount ?? 0;
      }),
    );
  }

  /**
   * Deletes in batches of `batchSize` rows, each its own short transaction. A token
   * without expiry ends at its own revocation, else its grant's.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2
   */
  async purge({ expiredBefore, batchSize = DEFAULT_PURGE_BATCH }: PurgeOptions): Promise<number> {
    const cutoff = wholeSeconds(expiredBefore);
    const limit = Math.max(1, Math.floor(batchSize));
    let total = 0;
    for (const statement of [PURGE_TOKENS, PURGE_GRANT_TOKENS]) {
      for (;;) {
        const result = await this.pool.query({ ...statement, values: [cutoff, limit] });
        const deleted = result.rowCount ?? 0;
        total += deleted;
        if (deleted < limit) break;
      }
    }
    for (let after = ''; ; ) {
      const { rows } = await this.pool.query<{ last: string | null; deleted: number }>({
        ...PURGE_REVOKED,
        values: [cutoff, after, limit],
      });
      total += rows[0]?.deleted ?? 0;
      if (rows[0]?.last == null) break;
      after = rows[0].last;
    }
    // Only once no token of the grant is left: until then its marker is its tokens' state.
    for (;;) {
      const result = await this.pool.query({ ...PURGE_GRANTS, values: [cutoff, limit] });
      if ((result.rowCount ?? 0) < limit) break;
    }
    // An assertion's record is needed only until it expires, whatever the retention.
    await this.pool.query({ ...PURGE_ASSERTIONS, values: [Math.floor(Date.now() / 1000)] });
    return total;
  }

  /**
   * Records a client assertion's `jti`, atomically for every server on the database: an
   * insert, or the reuse of an expired record.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7523#section-3
   */
  async rememberAssertion(clientId: string, jti: string, expiresAt: number): Promise<boolean> {
    const now = Math.floor(Date.now() / 1000);
    const result = await this.pool.query({
      ...REMEMBER_ASSERTION,
      values: [clientId, jti, Math.ceil(expiresAt), now],
    });
    return result.rowCount === 1;
  }

  /**
   * A primary-key read. Every request authenticates its client first, so under load most
   * requests of a turn name the same few clients: the lookups of one turn of the event
   * loop are one query (`client_id = ANY(...)`) reading each client once. A record that
   * cannot be read fails its own lookups only.
   *
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3
   */
  async getClient(clientId: string): Promise<Client | undefined> {
    // PostgreSQL's text cannot hold a NUL, so no client has one; sent in the batch, such an
    // id would fail the query, and with it every other lookup of the turn (audit finding).
    if (clientId.includes('\u0000')) return undefined;
    const row = await this.#clientRecords.add(clientId);
    return row ? clientFromRecord(row) : undefined;
  }

  readonly #runClientRecords = async (
    ids: readonly string[],
  ): Promise<(Record<string, unknown> | undefined)[]> => {
    const unique = [...new Set(ids)];
    const { rows } = await this.pool.query<Record<string, unknown>>(
      unique.length === 1
        ? { ...GET_CLIENT, values: unique }
        : { ...GET_CLIENTS, values: [unique] },
    );
    const byId = new Map(rows.map((row) => [String(row.client_id), row]));
    return ids.map((id) => byId.get(id));
  };

  /**
   * Inserts or replaces a client, saying which it did; an identical client is left alone.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
   */
  async saveClient(client: Client): Promise<SaveClientResult> {
    const record = clientToRecord(client);
    const { rows } = await this.pool.query<{ inserted: boolean }>({
      ...SAVE_CLIENT,
      values: CLIENT_COLUMNS.map((column) => record[column]),
    });
    if (!rows[0]) return 'unchanged';
    return rows[0].inserted ? 'inserted' : 'updated';
  }

  /** Nothing to release: the pool stays the caller's to end. */
  close(): void {}

  async #transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // A connection lost between two statements is reported as an event, not a rejection:
    // without a listener it would crash the process. The next statement rejects anyway.
    const ignore = () => {};
    client.on('error', ignore);
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      client.off('error', ignore);
      client.release();
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      client.off('error', ignore);
      // A connection that failed mid-transaction may be broken: drop it from the pool.
      client.release(error instanceof Error ? error : true);
      throw error;
    }
  }
}

/** Tokens in grant order, so two large saves lock grants in the same order. */
function byGrant(tokens: readonly StoredToken[]): StoredToken[] {
  return [...tokens].sort((a, b) => (a.grantId < b.grantId ? -1 : a.grantId > b.grantId ? 1 : 0));
}

function columnsOf(tokens: readonly StoredToken[]): unknown[][] {
  const columns: unknown[][] = Array.from({ length: 9 }, () => new Array(tokens.length));
  tokens.forEach((token, i) => {
    columns[0]![i] = token.id;
    columns[1]![i] = token.type;
    columns[2]![i] = token.clientId;
    columns[3]![i] = token.grantId;
    columns[4]![i] = wholeSeconds(token.issuedAt);
    columns[5]![i] = wholeSeconds(token.expiresAt);
    columns[6]![i] = wholeSeconds(token.revokedAt);
    columns[7]![i] = token.scope ?? null;
    columns[8]![i] = token.sub ?? null;
  });
  return columns;
}
