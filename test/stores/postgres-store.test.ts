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
async function pool(database = 'postgres'): Promise<pg.Pool> {
  const created = new pg.Pool({ connectionString: databaseUrl(database), max: 10 });
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
  for (const p of pools) await p.end().catch(() => {});
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
    assert.equal(await stores[0]!.schemaVersion(), 2);
    const { rows } = await stores[0]!.pool.query(
      'SELECT version FROM revokit_migrations ORDER BY version',
    );
    assert.deepEqual(rows, [{ version: 1 }, { version: 2 }]);
  });

  it('a database at version 1 upgrades to version 2 (jwks, RFC 7523 §2.2) and keeps its clients and tokens', async () => {
    const database = await freshDatabase();
    const db = await pool(database);
    // What revokit left at version 1: its migrations table, migration 1, and its rows.
    await db.query(`CREATE TABLE revokit_migrations (
      version integer PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    await db.query(POSTGRES_MIGRATIONS.find((m) => m.version === 1)!.sql);
    await db.query('INSERT INTO revokit_migrations (version) VALUES (1)');
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
    assert.equal(await stores[0]!.schemaVersion(), 2);
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
    await store.pool.query(`
      CREATE FUNCTION fail_mid_cascade() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected failure'; END $$;
      CREATE TRIGGER fail_mid_cascade BEFORE UPDATE ON revokit_tokens
      FOR EACH ROW WHEN (OLD.id = 'half-a2') EXECUTE FUNCTION fail_mid_cascade();`);
    await assert.rejects(store.revokeGrant('g', 5), /injected failure/);
    for (const token of tokens)
      assert.equal((await store.findToken(token.id))?.revokedAt, undefined);
    await store.pool.query('DROP TRIGGER fail_mid_cascade ON revokit_tokens');
    await store.saveTokens([{ ...tokens[0]!, id: 'half-late' }]);
    assert.equal((await store.findToken('half-late'))?.revokedAt, undefined);
    assert.equal(await store.revokeGrant('g', 6), 5);
  });

  it('PostgreSQL stopped in the middle of a cascade: after restart, nothing is half-revoked (issue #3 "Faults")', {
    timeout: 60_000,
  }, async () => {
    const own = await startPostgres();
    const options = { connectionString: own.url, max: 2, connectionTimeoutMillis: 5000 };
    const a = new pg.Pool(options);
    const b = new pg.Pool(options);
    a.on('error', () => {});
    b.on('error', () => {});
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
      // Another session holds one token's row: the cascade updates the rows before it,
      // then waits on it, its transaction open, when the server goes down.
      const holder = await b.connect();
      holder.on('error', () => {});
      await holder.query('BEGIN');
      await holder.query("SELECT 1 FROM revokit_tokens WHERE id = 'stop-4' FOR UPDATE");
      const cascade = store.revokeGrant('g', 5).then(
        () => 'committed',
        () => 'failed',
      );
      await eventuallyWaiting(b);
      await own.stop();
      assert.equal(await cascade, 'failed');
      holder.release(true);
      await own.start();
      const after = new PostgresTokenStore(a);
      for (const token of tokens) {
        assert.equal((await after.findToken(token.id))?.revokedAt, undefined, token.id);
      }
      assert.equal(await after.revokeGrant('g', 6), 6);
    } finally {
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
});
