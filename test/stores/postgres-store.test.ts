import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import {
  type OpenStoreOptions,
  openStore,
  SERVE_STATEMENT_TIMEOUT,
} from '../../src/cli/open-store.js';
import { sha256 } from '../../src/crypto/digest.js';
import { AuthorizationServer, createRevocationEndpoint } from '../../src/index.js';
import { ClientRecordError } from '../../src/stores/client-record.js';
import { POSTGRES_MIGRATIONS } from '../../src/stores/postgres/postgres-migrations.js';
import { PostgresTokenStore } from '../../src/stores/postgres/postgres-token-store.js';
import { SchemaVersionError } from '../../src/stores/schema-version-error.js';
import type { ConditionalRevocation, StoredToken } from '../../src/stores/token-store.js';
import { assertDamagedClientFailsAlone } from '../support/fixtures.js';
import { postgresForTests, type Service, startPostgres } from '../support/services.js';
import { runTokenStoreSuite } from '../support/token-store-suite.js';

let service: Service;
const pools: pg.Pool[] = [];

/** An RFC 7517 public JWK, as a `private_key_jwt` client registers it. */
const JWK = {
  kty: 'EC',
  crv: 'P-256',
  x: 'gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0',
  y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
  kid: 'k1',
};

/** The fields that hold a value. */
const defined = <T extends object>(value: T | undefined) =>
  value && Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));

/** The URL of one database of the test server. */
function databaseUrl(database: string): string {
  const url = new URL(service.url);
  url.pathname = `/${database}`;
  return url.href;
}

/** A pool on a database of its own, so each block starts from an empty schema. */
async function pool(database = 'postgres', max = 10): Promise<pg.Pool> {
  const created = new pg.Pool({ connectionString: databaseUrl(database), max });
  created.on('error', () => {});
  pools.push(created);
  return created;
}

/** Waits until some session of the pool's database is blocked on a lock. */
async function eventuallyWaiting(on: pg.Pool): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const { rows } = await on.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
    );
    if (rows[0].n > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the cascade never reached the locked row');
}

/** A pool on a database as a revokit whose schema stopped at `version` left it. */
async function databaseAt(database: string, version: number): Promise<pg.Pool> {
  const db = await pool(database);
  await db.query(`CREATE TABLE revokit_migrations (
    version integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  for (const migration of POSTGRES_MIGRATIONS.filter((m) => m.version <= version)) {
    await db.query(migration.sql);
    await db.query('INSERT INTO revokit_migrations (version) VALUES ($1)', [migration.version]);
  }
  return db;
}

async function freshDatabase(): Promise<string> {
  const name = `revokit_${Math.random().toString(36).slice(2, 10)}`;
  const admin = await pool();
  await admin.query(`CREATE DATABASE ${name}`);
  return name;
}

before(async () => {
  service = await postgresForTests();
});
after(async () => {
  // Bounded: a test that failed holding a client must not hang the run.
  for (const p of pools) {
    await Promise.race([p.end().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
  }
  await service?.destroy();
});

// Issue #3 "One conformance suite, every store": PostgreSQL through a pg Pool; the peer is a
// second pool on the same database, as a second server would have.
runTokenStoreSuite('postgres', {
  async create() {
    const database = await freshDatabase();
    const store = new PostgresTokenStore(await pool(database), { insertChunk: 50 });
    return {
      tokens: store,
      clients: store,
      async peer() {
        const other = new PostgresTokenStore(await pool(database));
        return { tokens: other, close: async () => {} };
      },
      close: async () => {},
    };
  },
});

describe('postgres store specifics (issue #3 "PostgreSQL")', () => {
  it('migrations are versioned, and servers migrating at once apply each step once', async () => {
    const database = await freshDatabase();
    const stores = await Promise.all(
      Array.from({ length: 4 }, async () => new PostgresTokenStore(await pool(database))),
    );
    assert.equal(await stores[0]!.schemaVersion(), 0);
    await Promise.all(stores.map((store) => store.migrate()));
    await stores[0]!.migrate();
    assert.equal(await stores[0]!.schemaVersion(), 7);
    const { rows } = await stores[0]!.pool.query(
      'SELECT version FROM revokit_migrations ORDER BY version',
    );
    assert.deepEqual(
      rows.map((row) => (row as { version: number }).version),
      [1, 2, 3, 4, 5, 6, 7],
    );
  });

  it('a database at version 1 upgrades to version 2 (jwks, RFC 7523 §2.2) and keeps its clients and tokens', async () => {
    const database = await freshDatabase();
    // What revokit left at version 1: its migrations table, migration 1, and its rows.
    const db = await databaseAt(database, 1);
    await db.query(
      `INSERT INTO revokit_clients (client_id, client_secret_digest, client_secret_expires_at,
         token_endpoint_auth_method, revocation_endpoint_auth_method, resource_server)
       VALUES ('v1-app', 'digest', 4102444800, 'client_secret_basic', 'client_secret_post', true)`,
    );
    await db.query(
      `INSERT INTO revokit_tokens (id, type, client_id, grant_id, issued_at)
       VALUES ('v1-token', 'refresh_token', 'v1-app', 'g', 1)`,
    );

    // Two servers of the new version start together on the old database.
    const stores = [new PostgresTokenStore(db), new PostgresTokenStore(await pool(database))];
    assert.equal(await stores[0]!.schemaVersion(), 1);
    await Promise.all(stores.map((store) => store.migrate()));
    await stores[1]!.migrate();
    assert.equal(await stores[0]!.schemaVersion(), 7);
    const store = stores[0]!;
    assert.deepEqual(defined(await store.getClient('v1-app')), {
      clientId: 'v1-app',
      clientSecretDigest: 'digest',
      clientSecretExpiresAt: 4102444800,
      tokenEndpointAuthMethod: 'client_secret_basic',
      revocationEndpointAuthMethod: 'client_secret_post',
      resourceServer: true,
    });
    assert.equal((await store.findToken('v1-token'))?.clientId, 'v1-app');
    const upgraded = { ...(await store.getClient('v1-app'))!, jwks: { keys: [JWK] } };
    assert.equal(await store.saveClient(upgraded), 'updated');
    assert.equal(await store.saveClient(upgraded), 'unchanged');
    assert.deepEqual((await stores[1]!.getClient('v1-app'))?.jwks, { keys: [JWK] });
  });

  it('a stored jwks that is not a JWK Set rejects (answered 503, RFC 7009 §2.2.1), and a new save repairs it', async () => {
    const database = await freshDatabase();
    const store = new PostgresTokenStore(await pool(database));
    await store.migrate();
    const client = { clientId: 'app', tokenEndpointAuthMethod: 'none', jwks: { keys: [JWK] } };
    await store.saveClient(client);
    for (const text of ['{"keys": [', '{"keys": 3}']) {
      await store.pool.query("UPDATE revokit_clients SET jwks = $1 WHERE client_id = 'app'", [
        text,
      ]);
      await assert.rejects(store.getClient('app'), ClientRecordError, text);
      await assertDamagedClientFailsAlone(store, 'app', text);
      assert.equal(await store.saveClient(client), 'updated', text);
      assert.deepEqual((await store.getClient('app'))?.jwks, client.jwks);
    }
  });

  it('refuses a schema newer than it knows', async () => {
    const database = await freshDatabase();
    const store = new PostgresTokenStore(await pool(database));
    await store.migrate();
    await store.pool.query('INSERT INTO revokit_migrations (version) VALUES (99)');
    await assert.rejects(store.migrate(), SchemaVersionError);
  });

  it('lookups by digest, grant, client, subject and expiry have real indexes', async () => {
    const database = await freshDatabase();
    const store = new PostgresTokenStore(await pool(database));
    await store.migrate();
    const { rows } = await store.pool.query<{ indexdef: string }>(
      "SELECT indexdef FROM pg_indexes WHERE tablename = 'revokit_tokens'",
    );
    const defs = rows.map((row) => row.indexdef).join('\n');
    for (const column of ['id', 'grant_id', 'client_id', 'sub', 'expires_at']) {
      assert.match(defs, new RegExp(`\\(${column}\\)`), `no index on ${column}`);
    }
    await store.pool.query('SET enable_seqscan = off');
    const plan = await store.pool.query("EXPLAIN SELECT * FROM revokit_tokens WHERE id = 'x'");
    assert.match(JSON.stringify(plan.rows), /Index Scan/);
  });

  it('a large save is one transaction: a failing chunk leaves nothing behind', async () => {
    const database = await freshDatabase();
    const store = new PostgresTokenStore(await pool(database), { insertChunk: 10 });
    await store.migrate();
    const tokens = Array.from({ length: 35 }, (_, i) => ({
      id: `id-${i}`,
      type: 'access_token' as const,
      clientId: 'c',
      grantId: `g-${i}`,
      issuedAt: 1,
    }));
    // A type the CHECK constraint refuses, in the last chunk.
    const bad = [...tokens, { ...tokens[0]!, id: 'zz', grantId: 'zz', type: 'id_token' as never }];
    await assert.rejects(store.saveTokens(bad));
    assert.equal(await store.findToken('id-0'), undefined);
    assert.equal(await store.saveTokens(tokens), 35);
  });

  it('lookups of one event-loop turn are one query, each answered its own (issue #5 "batching")', async () => {
    const database = await freshDatabase();
    const store = new PostgresTokenStore(await pool(database));
    await store.migrate();
    const tokens = Array.from({ length: 6 }, (_, i) => ({
      id: `batch-${i}`,
      type: 'access_token' as const,
      clientId: `c${i}`,
      grantId: `g${i}`,
      issuedAt: 1,
    }));
    await store.saveTokens(tokens);
    await store.revokeGrant('g2', 9);
    const queried: string[] = [];
    const query = store.pool.query.bind(store.pool);
    store.pool.query = ((config: { name?: string }, ...rest: unknown[]) => {
      if (typeof config === 'object' && config?.name) queried.push(config.name);
      return (query as (...args: unknown[]) => unknown)(config, ...rest);
    }) as typeof store.pool.query;
    const found = await Promise.all(
      ['batch-0', 'batch-2', 'nothing', 'batch-5', 'batch-0'].map((id) => store.findToken(id)),
    );
    assert.deepEqual(queried, ['revokit_find_tokens'], 'one query for the turn');
    assert.deepEqual(
      found.map((t) => t?.clientId),
      ['c0', 'c2', undefined, 'c5', 'c0'],
    );
    assert.equal(found[1]?.revokedAt, 9, 'the grant marker is read in a batch too');
    assert.equal(found[0]?.revokedAt, undefined);
  });

  it('revocations of one turn are one transaction: each token counted once, all or none (issue #5 "group commit")', async () => {
    const database = await freshDatabase();
    const store = new PostgresTokenStore(await pool(database));
    await store.migrate();
    const tokens = Array.from({ length: 5 }, (_, i) => ({
      id: `gc-${i}`,
      type: 'access_token' as const,
      clientId: 'c',
      grantId: i === 4 ? 'revoked-grant' : `g${i}`,
      issuedAt: 1,
    }));
    await store.saveTokens(tokens);
    await store.revokeGrant('revoked-grant', 3);
    await store.pool.query(`
      CREATE FUNCTION fail_gc() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected failure'; END $$;
      CREATE TRIGGER fail_gc BEFORE UPDATE ON revokit_tokens
      FOR EACH ROW WHEN (OLD.id = 'gc-2') EXECUTE FUNCTION fail_gc();`);
    const failed = await Promise.allSettled(
      ['gc-0', 'gc-1', 'gc-2'].map((id) => store.revokeToken(id, 5)),
    );
    assert.deepEqual(
      failed.map((r) => r.status),
      ['rejected', 'rejected', 'rejected'],
    );
    for (const token of tokens.slice(0, 4)) {
      assert.equal((await store.findToken(token.id))?.revokedAt, undefined, token.id);
    }
    await store.pool.query('DROP TRIGGER fail_gc ON revokit_tokens');
    const counts = await Promise.all(
      ['gc-0', 'gc-1', 'gc-0', 'gc-4', 'nothing', 'gc-3'].map((id) => store.revokeToken(id, 6)),
    );
    assert.deepEqual(counts, [1, 1, 0, 0, 0, 1]);
    // Resolved means committed: another server's pool sees it.
    const other = new PostgresTokenStore(await pool(database));
    for (const id of ['gc-0', 'gc-1', 'gc-3'])
      assert.equal((await other.findToken(id))?.revokedAt, 6);
    assert.equal((await other.findToken('gc-4'))?.revokedAt, 3, 'its grant time, not counted');
    // One turn, several revocation times: one transaction, each token at its own time.
    await store.saveTokens(['t1', 't2'].map((id) => ({ ...tokens[0]!, id, grantId: id })));
    assert.deepEqual(
      await Promise.all([store.revokeToken('t1', 7), store.revokeToken('t2', 8)]),
      [1, 1],
    );
    assert.equal((await other.findToken('t1'))?.revokedAt, 7);
    assert.equal((await other.findToken('t2'))?.revokedAt, 8);
  });

  it('a cascade that fails half-way leaves nothing revoked, not even the grant row (issue #3 "Nothing is half-revoked")', async () => {
    const database = await freshDatabase();
    const store = new PostgresTokenStore(await pool(database));
    await store.migrate();
    const tokens = ['a1', 'r1', 'a2', 'r2'].map((v, i) => ({
      id: `half-${v}`,
      type: i % 2 ? ('refresh_token' as const) : ('access_token' as const),
      clientId: 'c',
      grantId: 'g',
      issuedAt: 1,
    }));
    await store.saveTokens(tokens);
    // The cascade's one write is the grant's marker: fail right after it is written.
    await store.pool.query(`
      CREATE FUNCTION fail_mid_cascade() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected failure'; END $$;
      CREATE TRIGGER fail_mid_cascade AFTER UPDATE ON revokit_grants
      FOR EACH ROW WHEN (NEW.grant_id = 'g' AND NEW.revoked_at IS NOT NULL)
      EXECUTE FUNCTION fail_mid_cascade();`);
    await assert.rejects(store.revokeGrant('g', 5), /injected failure/);
    for (const token of tokens)
      assert.equal((await store.findToken(token.id))?.revokedAt, undefined);
    const marker = await store.pool.query(
      "SELECT revoked_at FROM revokit_grants WHERE grant_id = 'g'",
    );
    assert.deepEqual(marker.rows, [{ revoked_at: null }], 'the grant is not marked');
    await store.pool.query('DROP TRIGGER fail_mid_cascade ON revokit_grants');
    await store.saveTokens([{ ...tokens[0]!, id: 'half-late' }]);
    assert.equal((await store.findToken('half-late'))?.revokedAt, undefined);
    assert.equal(await store.revokeGrant('g', 6), 5);
  });

  it('PostgreSQL crashing in the middle of a cascade: after recovery, nothing is half-revoked (issue #3 "Faults")', {
    timeout: 60_000,
  }, async () => {
    const own = await startPostgres();
    const options = { connectionString: own.url, max: 2, connectionTimeoutMillis: 5000 };
    const a = new pg.Pool(options);
    const b = new pg.Pool(options);
    a.on('error', () => {});
    b.on('error', () => {});
    let holder: pg.PoolClient | undefined;
    try {
      const store = new PostgresTokenStore(a);
      await store.migrate();
      const tokens = Array.from({ length: 6 }, (_, i) => ({
        id: `stop-${i}`,
        type: i % 2 ? ('refresh_token' as const) : ('access_token' as const),
        clientId: 'c',
        grantId: 'g',
        issuedAt: 1,
      }));
      await store.saveTokens(tokens);
      // Another session holds the grant's row: the cascade takes the grant's advisory lock,
      // then waits on the row, its transaction open, when the server goes down. A crash, not
      // a fast shutdown: in a fast one the holder's session can end first and let go of the
      // row, and the cascade may then commit before its own session ends (seen under load).
      holder = await b.connect();
      holder.on('error', () => {});
      await holder.query('BEGIN');
      await holder.query("SELECT 1 FROM revokit_grants WHERE grant_id = 'g' FOR UPDATE");
      const cascade = store.revokeGrant('g', 5).then(
        () => 'committed',
        () => 'failed',
      );
      await eventuallyWaiting(b);
      await own.crash();
      assert.equal(await cascade, 'failed', 'the caller is told the cascade did not happen');
      holder.release(true);
      holder = undefined;
      await own.start();
      const after = new PostgresTokenStore(a);
      const revoked = [];
      for (const token of tokens) revoked.push((await after.findToken(token.id))?.revokedAt);
      assert.deepEqual(revoked, Array(tokens.length).fill(undefined), 'no token of the grant');
      assert.equal(await after.revokeGrant('g', 6), 6, 'the grant was not marked either');
    } finally {
      // A failed assertion must fail the test, not hang it: b.end() waits for the holder.
      holder?.release(true);
      await a.end().catch(() => {});
      await b.end().catch(() => {});
      await own.destroy();
    }
  });

  it('bulk revocations and grant cascades over the same tokens, from two servers, never deadlock', async () => {
    const database = await freshDatabase();
    const a = new PostgresTokenStore(await pool(database));
    const b = new PostgresTokenStore(await pool(database));
    await a.migrate();
    const tokens = Array.from({ length: 400 }, (_, i) => ({
      id: `dl-${(i * 7919) % 400}`,
      type: 'access_token' as const,
      clientId: 'c',
      sub: i % 2 ? 'odd' : 'even',
      grantId: `g-${i % 20}`,
      issuedAt: 1,
    }));
    await a.saveTokens(tokens);
    const counts = await Promise.all([
      a.revokeWhere({ clientId: 'c' }, 5),
      b.revokeWhere({ sub: 'odd' }, 5),
      ...Array.from({ length: 20 }, (_, g) => (g % 2 ? a : b).revokeGrant(`g-${g}`, 5)),
    ]);
    assert.equal(
      counts.reduce((sum, n) => sum + n, 0),
      400,
      'every token revoked exactly once',
    );
  });

  it('an unreachable database rejects quickly (answered 503), it does not hang', async () => {
    const dead = new pg.Pool({
      connectionString: 'postgres://postgres@127.0.0.1:1/postgres',
      connectionTimeoutMillis: 1000,
    });
    dead.on('error', () => {});
    const store = new PostgresTokenStore(dead);
    const started = Date.now();
    await assert.rejects(store.findToken('x'));
    assert.ok(Date.now() - started < 2000);
    await dead.end();
  });
});

/** `n` tokens of one grant, ids `${prefix}-0` on. */
function grantTokens(prefix: string, grantId: string, n: number, extra: Partial<StoredToken> = {}) {
  return Array.from(
    { length: n },
    (_, i): StoredToken => ({
      id: `${prefix}-${i}`,
      type: i % 2 ? 'refresh_token' : 'access_token',
      clientId: 'c',
      grantId,
      issuedAt: 1,
      ...extra,
    }),
  );
}

/** A statistic of a table (`expression` over pg_stat_user_tables), once flushed. */
async function tableStat(db: pg.Pool, table: string, expression: string): Promise<number> {
  await db.query('SELECT pg_stat_force_next_flush()');
  const { rows } = await db.query(
    `SELECT (${expression})::int AS n FROM pg_stat_user_tables WHERE relname = $1`,
    [table],
  );
  return rows[0].n;
}

/** Rows updated in a table. */
const rowsUpdated = (db: pg.Pool, table: string) => tableStat(db, table, 'n_tup_upd');

/** Rows of revokit_tokens read so far, by index or sequential scan. */
const tokenReads = (db: pg.Pool) =>
  tableStat(db, 'revokit_tokens', 'coalesce(idx_tup_fetch, 0) + seq_tup_read');

/**
 * A migrated store on a fresh database, through one connection: the statistics it flushes
 * are then those of the test's own statements.
 */
async function storeOnOneConnection(): Promise<{ db: pg.Pool; store: PostgresTokenStore }> {
  const db = await pool(await freshDatabase(), 1);
  const store = new PostgresTokenStore(db);
  await store.migrate();
  return { db, store };
}

describe('issue #5 "Cascade": a grant is revoked by its marker (PostgreSQL schema version 3)', () => {
  it('revoking a 10,000-token grant writes one grant row, not 10,000 token rows, and every token reads revoked', async () => {
    const { db, store } = await storeOnOneConnection();
    const tokens = grantTokens('big', 'big', 10_000);
    await store.saveTokens([...tokens, ...grantTokens('other', 'other', 4)]);
    const before = {
      tokens: await rowsUpdated(db, 'revokit_tokens'),
      grants: await rowsUpdated(db, 'revokit_grants'),
    };
    assert.equal(await store.revokeGrant('big', 5), 10_000);
    assert.equal((await rowsUpdated(db, 'revokit_tokens')) - before.tokens, 0);
    assert.equal((await rowsUpdated(db, 'revokit_grants')) - before.grants, 1);
    const own = await db.query(
      "SELECT count(*)::int AS n FROM revokit_tokens WHERE grant_id = 'big' AND revoked_at IS NOT NULL",
    );
    assert.equal(own.rows[0].n, 0, 'token rows keep their own revoked_at NULL');
    for (const token of [tokens[0]!, tokens[4999]!, tokens[9999]!]) {
      assert.equal((await store.findToken(token.id))?.revokedAt, 5, token.id);
    }
    assert.equal((await store.findToken('other-0'))?.revokedAt, undefined);
    assert.equal(await store.revokeGrant('big', 6), 0);
    assert.equal((await store.findToken(tokens[0]!.id))?.revokedAt, 5, 'the first time stays');
  });

  it('an uncounted cascade ({ count: false }, schema version 5) reads no token row, and every token reads revoked', async () => {
    const { db, store } = await storeOnOneConnection();
    const tokens = grantTokens('big', 'big', 1_000);
    await store.saveTokens([...tokens, ...grantTokens('other', 'other', 4)]);
    const before = await tokenReads(db);
    await store.revokeGrant('big', 5, { count: false });
    assert.equal((await tokenReads(db)) - before, 0, 'no scan of revokit_tokens');
    for (const token of [tokens[0]!, tokens[999]!]) {
      assert.equal((await store.findToken(token.id))?.revokedAt, 5, token.id);
    }
    assert.equal((await store.findToken('other-0'))?.revokedAt, undefined);
    assert.equal(await store.revokeGrant('big', 6), 0, 'the grant stays revoked, at 5');
    assert.equal((await store.findToken(tokens[0]!.id))?.revokedAt, 5);
    // The measure sees a count: a counted cascade reads the grant's rows.
    const counted = await tokenReads(db);
    assert.equal(await store.revokeGrant('other', 5), 4);
    assert.ok((await tokenReads(db)) - counted >= 4);
  });

  it('a revocation batch that deadlocks with another writer of the same tokens is run again, and nothing is revoked twice (schema version 5)', async () => {
    const database = await freshDatabase();
    // PostgreSQL checks a lock wait for a deadlock once, when deadlock_timeout has passed
    // since the wait began, and the session that finds the cycle is rolled back. The batch
    // waits first and checks after 1 s; the other writer, which closes the cycle within
    // milliseconds of that, would check only after 30 s. So the batch is always the victim.
    const db = new pg.Pool({
      connectionString: databaseUrl(database),
      options: '-c deadlock_timeout=1000',
    });
    db.on('error', () => {});
    pools.push(db);
    // Every try of the batch statement, and how it ended.
    const tries: string[] = [];
    const query = db.query.bind(db) as (...args: unknown[]) => Promise<unknown>;
    (db as unknown as { query: typeof query }).query = (...args: unknown[]) => {
      const named = (args[0] as { name?: string }).name === 'revokit_revoke_tokens_if';
      const result = query(...args);
      if (named) {
        result.then(
          () => tries.push('ok'),
          (error: { code?: string }) => tries.push(error.code ?? 'error'),
        );
      }
      return result;
    };
    const store = new PostgresTokenStore(db);
    await store.migrate();
    // The batch locks its rows in its plan's order, which the test cannot choose: the other
    // writer holds one token, then asks for the second, once holding each in turn, until
    // the batch holds the second while it waits for the first.
    for (let attempt = 0; attempt < 6 && !tries.includes('40P01'); attempt++) {
      const tokens = grantTokens(`dl${attempt}`, `dl${attempt}`, 2, { type: 'access_token' });
      await store.saveTokens(tokens);
      const ids = tokens.map((token) => token.id).sort();
      const held = ids[attempt % 2]!;
      const wanted = ids[1 - (attempt % 2)]!;
      const other = await db.connect();
      let answers: ConditionalRevocation[];
      try {
        await other.query("SET deadlock_timeout = '30s'");
        await other.query('BEGIN');
        await other.query('UPDATE revokit_tokens SET revoked_at = 1 WHERE id = $1', [held]);
        const asks = Promise.all(
          ids.map((id) =>
            store.revokeTokenIf(id, { clientId: 'c', types: ['access_token'], at: 9 }),
          ),
        );
        await eventuallyWaiting(db);
        await other.query('UPDATE revokit_tokens SET revoked_at = 1 WHERE id = $1', [wanted]);
        await other.query('COMMIT');
        answers = await asks;
      } finally {
        // Destroyed, not pooled: a failure may leave its transaction open, and a pool whose
        // client is never released never ends.
        other.release(true);
      }
      // The other writer revoked both first: the batch revokes neither, whether it had to be
      // run again or not, and each token keeps the first revocation time.
      assert.deepEqual(
        answers.map((answer) => answer.revoked),
        [false, false],
      );
      for (const id of ids) assert.equal((await store.findToken(id))?.revokedAt, 1);
    }
    assert.ok(tries.includes('40P01'), `a deadlock was provoked: ${tries.join(', ')}`);
    assert.equal(tries.at(-1), 'ok', 'the batch that was rolled back ran again and succeeded');
  });

  it('beside version 5, a server of version 4 revokes a grant through the two-argument function, counted', async () => {
    const { db, store } = await storeOnOneConnection();
    await store.saveTokens([...grantTokens('g', 'g', 3), ...grantTokens('h', 'h', 2)]);
    // What a version-4 server sends.
    const { rows } = await db.query('SELECT revokit_revoke_grant($1, $2) AS n', ['g', 7]);
    assert.equal(rows[0].n, 3);
    assert.equal((await store.findToken('g-2'))?.revokedAt, 7);
    assert.equal((await store.findToken('h-0'))?.revokedAt, undefined);
    assert.equal(await store.revokeGrant('g', 8, { count: false }), 0, 'already revoked');
  });

  it('a revocation is a HOT update: no index holds revoked_at, so no index entry is written (issue #5)', async () => {
    const { db, store } = await storeOnOneConnection();
    const { rows: indexes } = await db.query<{ indexdef: string }>(
      "SELECT indexdef FROM pg_indexes WHERE tablename = 'revokit_tokens'",
    );
    for (const { indexdef } of indexes) assert.doesNotMatch(indexdef, /revoked_at/, indexdef);
    const tokens = grantTokens('hot', 'hot', 200);
    await store.saveTokens(tokens);
    const hot = async () => {
      await db.query('SELECT pg_stat_force_next_flush()');
      const { rows } = await db.query(
        "SELECT n_tup_hot_upd::int AS n FROM pg_stat_user_tables WHERE relname = 'revokit_tokens'",
      );
      return rows[0].n as number;
    };
    const before = await hot();
    // One at a time, as revocations of tokens spread over a large table meet their pages:
    // a page's earlier row versions are dead, and pruned, by the time the next one comes.
    for (const token of tokens) assert.equal(await store.revokeToken(token.id, 5), 1);
    assert.equal((await hot()) - before, 200, 'every revocation stayed on its page');
    // Purge still finds revoked tokens without expiry, walking them by id.
    assert.equal(await store.purge({ expiredBefore: 6, batchSize: 7 }), 200);
    assert.equal(await store.findToken('hot-0'), undefined);
  });

  it('revoking a token of a revoked grant counts 0 and keeps the grant’s time', async () => {
    const database = await freshDatabase();
    const store = new PostgresTokenStore(await pool(database));
    await store.migrate();
    const tokens = grantTokens('rt', 'g', 3);
    await store.saveTokens(tokens);
    assert.equal(await store.revokeToken('rt-0', 3), 1);
    assert.equal(await store.revokeGrant('g', 5), 2);
    assert.equal(await store.revokeToken('rt-1', 9), 0);
    assert.equal((await store.findToken('rt-0'))?.revokedAt, 3, 'revoked before the grant');
    assert.equal((await store.findToken('rt-1'))?.revokedAt, 5);
    const own = await store.pool.query("SELECT revoked_at FROM revokit_tokens WHERE id = 'rt-1'");
    assert.deepEqual(own.rows, [{ revoked_at: null }], 'the token row was not written');
    assert.equal(await store.revokeWhere({ clientId: 'c' }, 9), 0);
  });

  it('a database at version 2 with grants revoked the old way upgrades to version 3 (and on to 4) and reads the same', async () => {
    const database = await freshDatabase();
    // What revokit left at version 2: migrations 1 and 2, tokens saved and revoked by them.
    const db = await databaseAt(database, 2);
    const old = new PostgresTokenStore(db);
    const revoked = grantTokens('old', 'old', 4);
    const live = grantTokens('live', 'live', 4, { expiresAt: 4102444800 });
    await old.saveTokens([...revoked, ...live]);
    // Version 2's statements: one token, then its grant, rewriting each token row.
    await db.query("UPDATE revokit_tokens SET revoked_at = 3 WHERE id = 'old-0'");
    await db.query("SELECT revokit_revoke_grant('old', 5)");
    await db.query("UPDATE revokit_tokens SET revoked_at = 4 WHERE id = 'live-3'");
    // A token inserted by hand, without its grant's row.
    await db.query(
      `INSERT INTO revokit_tokens (id, type, client_id, grant_id, issued_at)
       VALUES ('rowless', 'refresh_token', 'c', 'rowless', 1)`,
    );
    const ids = [...revoked, ...live].map((token) => token.id).concat('rowless');
    const read = async (store: PostgresTokenStore) =>
      Promise.all(ids.map(async (id) => defined(await store.findToken(id))));
    const atVersion2 = await read(old);
    // Version 2 read each token's own row.
    const own = await db.query<{ id: string; revoked_at: string | null }>(
      'SELECT id, revoked_at FROM revokit_tokens',
    );
    for (const token of atVersion2) {
      const row = own.rows.find((r) => r.id === token?.id);
      assert.equal(token?.revokedAt, row?.revoked_at == null ? undefined : Number(row.revoked_at));
    }
    assert.deepEqual(
      atVersion2.map((token) => token?.revokedAt),
      [3, 5, 5, 5, undefined, undefined, undefined, 4, undefined],
    );

    // Two servers of the new version start together on the old database.
    const stores = [new PostgresTokenStore(db), new PostgresTokenStore(await pool(database))];
    await Promise.all(stores.map((store) => store.migrate()));
    await stores[1]!.migrate();
    assert.equal(await stores[0]!.schemaVersion(), 7);
    const store = stores[1]!;
    assert.deepEqual(await read(store), atVersion2);
    assert.equal(await store.revokeGrant('old', 9), 0);
    assert.equal(await store.revokeToken('old-1', 9), 0);
    await store.saveTokens(grantTokens('late', 'old', 1));
    assert.equal((await store.findToken('late-0'))?.revokedAt, 5);
    assert.equal(await store.revokeGrant('live', 7), 3);
    assert.equal(await store.revokeWhere({ clientId: 'c' }, 8), 1, 'the token without a grant row');
    const after = await read(store);
    assert.deepEqual(
      after.map((token) => token?.revokedAt),
      [3, 5, 5, 5, 7, 7, 7, 4, 8],
    );
  });

  it('purge deletes a token without expiry whose grant was revoked before the cutoff, and its grant only once no token is left', async () => {
    const database = await freshDatabase();
    const store = new PostgresTokenStore(await pool(database));
    await store.migrate();
    await store.saveTokens([
      ...grantTokens('early', 'early', 7),
      ...grantTokens('late', 'late', 3),
      ...grantTokens('live', 'live', 3),
      // The grant goes early, one of its tokens stays: it expires after the cutoff.
      ...grantTokens('mixed', 'mixed', 2),
      ...grantTokens('mixed-kept', 'mixed', 1, { expiresAt: 2000 }),
    ]);
    await store.revokeGrant('early', 100);
    await store.revokeGrant('mixed', 100);
    await store.revokeGrant('late', 1500);
    assert.equal(await store.purge({ expiredBefore: 1000, batchSize: 2 }), 9);
    for (const id of ['early-0', 'early-6', 'mixed-0', 'mixed-1']) {
      assert.equal(await store.findToken(id), undefined, id);
    }
    assert.equal((await store.findToken('late-0'))?.revokedAt, 1500);
    assert.equal((await store.findToken('live-0'))?.revokedAt, undefined);
    assert.equal((await store.findToken('mixed-kept-0'))?.revokedAt, 100, 'its marker stays');
    const { rows } = await store.pool.query(
      'SELECT grant_id FROM revokit_grants ORDER BY grant_id',
    );
    assert.deepEqual(
      rows.map((row) => row.grant_id),
      ['late', 'live', 'mixed'],
    );
    assert.equal(await store.purge({ expiredBefore: 1000, batchSize: 2 }), 0);
  });

  it('a bulk revocation waits for no rotation, and a cascade of its grants waits for it', async () => {
    const database = await freshDatabase();
    const db = await pool(database);
    const store = new PostgresTokenStore(db);
    await store.migrate();
    await store.saveTokens(grantTokens('held', 'g', 2));
    // The lock revokeWhere holds on each grant of its tokens until it commits.
    const holder = await db.connect();
    try {
      await holder.query('BEGIN');
      await holder.query("SELECT 1 FROM revokit_grants WHERE grant_id = 'g' FOR KEY SHARE");
      assert.equal(await store.saveTokens(grantTokens('rotated', 'g', 1)), 1);
      const cascade = store.revokeGrant('g', 5);
      await eventuallyWaiting(db);
      await holder.query('COMMIT');
      assert.equal(await cascade, 3);
    } finally {
      holder.release();
    }
  });

  it('a bulk revocation over more grants than the lock table holds advisory locks succeeds', {
    timeout: 120_000,
  }, async () => {
    const database = await freshDatabase();
    const store = new PostgresTokenStore(await pool(database));
    await store.migrate();
    const n = 60_000;
    const tokens = Array.from(
      { length: n },
      (_, i): StoredToken => ({
        id: `wide-${i}`,
        type: 'refresh_token',
        clientId: 'wide',
        grantId: `wide-${i}`,
        issuedAt: 1,
      }),
    );
    await store.saveTokens(tokens);
    await store.revokeGrant('wide-7', 4);
    assert.equal(await store.revokeWhere({ clientId: 'wide' }, 5), n - 1);
    assert.equal((await store.findToken('wide-7'))?.revokedAt, 4);
    assert.equal((await store.findToken(`wide-${n - 1}`))?.revokedAt, 5);
  });
});

describe('revokit serve on PostgreSQL: a statement_timeout below the store timeout (RFC 7009 §2.2.1)', () => {
  async function statementTimeout(url: string, options: OpenStoreOptions): Promise<string> {
    const opened = await openStore(url, { ...options, migrate: false });
    try {
      const { rows } = await (opened.tokens as PostgresTokenStore).pool.query(
        'SHOW statement_timeout',
      );
      return rows[0].statement_timeout;
    } finally {
      await opened.close();
    }
  }

  it('serve gets 4 s, a second below the 5 s store timeout; a longer limit (operator commands) or the URL overrides it', async () => {
    const url = databaseUrl('postgres');
    assert.equal(SERVE_STATEMENT_TIMEOUT, 4000);
    assert.equal(await statementTimeout(url, {}), '4s');
    assert.equal(await statementTimeout(url, { statementTimeout: 600_000 }), '10min');
    assert.equal(await statementTimeout(`${url}?statement_timeout=9000`, {}), '9s');
  });

  /**
   * A revocation whose row another transaction holds, behind an endpoint with a short
   * store timeout; the holder lets go after the endpoint has answered.
   */
  async function revokeBehindLock(statementTimeoutMs: number) {
    const database = await freshDatabase();
    const opened = await openStore(databaseUrl(database), { statementTimeout: statementTimeoutMs });
    const store = opened.tokens as PostgresTokenStore;
    const holder = await (await pool(database)).connect();
    try {
      await opened.clients.saveClient({
        clientId: 'app',
        clientSecretDigest: await sha256('app-secret'),
        tokenEndpointAuthMethod: 'client_secret_basic',
      });
      const id = await sha256('locked-token');
      await store.saveTokens([
        { id, type: 'access_token', clientId: 'app', grantId: 'g', issuedAt: 1 },
      ]);
      const server = new AuthorizationServer({ clients: opened.clients, storeTimeout: 500 });
      server.registerEndpoint(createRevocationEndpoint(store));
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM revokit_tokens WHERE id = $1 FOR UPDATE', [id]);
      const res = await server.createEndpointResponse(
        'revocation',
        new Request('https://as.example/oauth/revoke', {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from('app:app-secret').toString('base64')}`,
          },
          body: 'token=locked-token&token_type_hint=access_token',
        }),
      );
      await holder.query('ROLLBACK');
      // Long enough for a statement still waiting on the lock to take it and commit.
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { status: res.status, revokedAt: (await store.findToken(id))?.revokedAt };
    } finally {
      holder.release();
      await opened.close();
    }
  }

  it('a revocation answered 503 is cancelled by the database, not committed after the answer', async () => {
    const bounded = await revokeBehindLock(300);
    assert.equal(bounded.status, 503);
    assert.equal(bounded.revokedAt, undefined, 'the revocation committed after its 503');
    // The contrast: with the database's own (unlimited) setting it commits after the 503.
    const unbounded = await revokeBehindLock(0);
    assert.equal(unbounded.status, 503);
    assert.notEqual(unbounded.revokedAt, undefined);
  });

  it('at most concurrentBatches statements of a kind run at once; a call that waited past batchQueueTimeout is answered 503 and never written (issue #5)', async () => {
    const database = await freshDatabase();
    const db = await pool(database);
    const store = new PostgresTokenStore(db, { concurrentBatches: 1, batchQueueTimeout: 200 });
    await store.migrate();
    const [held, queued, later] = await Promise.all(
      ['held-token', 'queued-token', 'later-token'].map((value) => sha256(value)),
    );
    await store.saveTokens(
      [held, queued, later].map((id) => ({
        id: id!,
        type: 'access_token' as const,
        clientId: 'app',
        grantId: `g-${id}`,
        issuedAt: 1,
      })),
    );
    const holder = await db.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM revokit_tokens WHERE id = $1 FOR UPDATE', [held]);
      const first = store.revokeToken(held!, 10);
      await eventuallyWaiting(db);
      // A later turn: the one statement allowed is running, so this call waits for it.
      const waiting = store.revokeToken(queued!, 10);
      const active = await db.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%revokit_revoke_token%' AND state = 'active' AND pid <> pg_backend_pid()",
      );
      assert.equal(active.rows[0].n, 1, 'one revocation statement runs, not two');
      await assert.rejects(waiting, /waited 200 ms/);
      await holder.query('ROLLBACK');
      assert.equal(await first, 1, 'the statement that was running commits');
      assert.equal(await store.revokeToken(later!, 10), 1, 'the queue moves on');
      assert.equal((await store.findToken(queued!))?.revokedAt, undefined, 'never written');
    } finally {
      holder.release();
    }
  });
});
