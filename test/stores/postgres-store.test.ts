import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { PostgresTokenStore } from '../../src/stores/postgres/postgres-token-store.js';
import { SchemaVersionError } from '../../src/stores/schema-version-error.js';
import { postgresForTests, type Service } from '../support/services.js';
import { runTokenStoreSuite } from '../support/token-store-suite.js';

let service: Service;
const pools: pg.Pool[] = [];

/** A pool on a database of its own, so each block starts from an empty schema. */
async function pool(database = 'postgres'): Promise<pg.Pool> {
  const url = new URL(service.url);
  url.pathname = `/${database}`;
  const created = new pg.Pool({ connectionString: url.href, max: 10 });
  created.on('error', () => {});
  pools.push(created);
  return created;
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
    assert.equal(await stores[0]!.schemaVersion(), 1);
    const { rows } = await stores[0]!.pool.query('SELECT version FROM revokit_migrations');
    assert.deepEqual(rows, [{ version: 1 }]);
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
