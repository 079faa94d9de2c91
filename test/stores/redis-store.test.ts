import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { sha256 } from '../../src/crypto/digest.js';
import { ClientRecordError } from '../../src/stores/client-record.js';
import { RedisTokenStore } from '../../src/stores/redis/redis-token-store.js';
import { SchemaVersionError } from '../../src/stores/schema-version-error.js';
import { assertDamagedClientFailsAlone } from '../support/fixtures.js';
import { redisForTests, type Service } from '../support/services.js';
import { runTokenStoreSuite } from '../support/token-store-suite.js';

let service: Service;
const clients: Redis[] = [];

async function connect(): Promise<Redis> {
  const redis = new Redis(service.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
  });
  redis.on('error', () => {});
  await redis.connect();
  clients.push(redis);
  return redis;
}

const prefix = () => `revokit-test-${randomBytes(4).toString('hex')}:`;
const now = () => Math.floor(Date.now() / 1000);

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

before(async () => {
  service = await redisForTests();
});
after(async () => {
  for (const redis of clients) redis.disconnect();
  await service?.destroy();
});

// Issue #3 "One conformance suite, every store": Redis through ioredis; the peer is a second
// connection, as a second server would have.
runTokenStoreSuite('redis', {
  async create() {
    const p = prefix();
    const store = new RedisTokenStore(await connect(), { prefix: p, saveChunk: 40 });
    return {
      tokens: store,
      clients: store,
      async peer() {
        return {
          tokens: new RedisTokenStore(await connect(), { prefix: p }),
          close: async () => {},
        };
      },
      close: async () => {},
    };
  },
});

describe('redis store specifics (issue #3 "Redis": TTLs so the data set does not grow)', () => {
  it('a token expires retention seconds after its expiry, and its indexes with it', async () => {
    const redis = await connect();
    const store = new RedisTokenStore(redis, { prefix: prefix(), retention: 100 });
    await store.migrate();
    const id = await sha256('ttl');
    const expiresAt = now() + 50;
    await store.saveTokens([
      {
        id,
        type: 'access_token',
        clientId: 'c',
        grantId: 'g',
        issuedAt: now(),
        expiresAt,
        sub: 's',
      },
    ]);
    const ttl = await redis.ttl(`${store.prefix}t:${id}`);
    assert.ok(ttl > 140 && ttl <= 150, `ttl ${ttl}`);
    for (const index of ['g:g', 'c:c', 'u:s']) {
      const setTtl = await redis.ttl(store.prefix + index);
      assert.ok(setTtl > 140 && setTtl <= 150, `${index} ttl ${setTtl}`);
    }
  });

  it('a token without expiry has no TTL until revoked, then lives for the retention', async () => {
    const redis = await connect();
    const store = new RedisTokenStore(redis, { prefix: prefix(), retention: 100 });
    const id = await sha256('forever');
    await store.saveTokens([
      { id, type: 'refresh_token', clientId: 'c', grantId: 'g', issuedAt: now() },
    ]);
    assert.equal(await redis.ttl(`${store.prefix}t:${id}`), -1);
    await store.revokeGrant('g', now());
    const ttl = await redis.ttl(`${store.prefix}t:${id}`);
    assert.ok(ttl > 90 && ttl <= 100, `ttl ${ttl}`);
    const marker = await redis.ttl(`${store.prefix}gr:g`);
    assert.ok(marker > 90 && marker <= 100, `grant marker ttl ${marker}`);
  });

  it('a revoked grant holding a token without expiry keeps its marker as long as its longest-lived token (audit finding)', async () => {
    const redis = await connect();
    const store = new RedisTokenStore(redis, { prefix: prefix(), retention: 100 });
    const refresh = await sha256('forever-refresh');
    const access = await sha256('hour-access');
    await store.saveTokens([
      { id: refresh, type: 'refresh_token', clientId: 'c', grantId: 'g', issuedAt: now() },
      {
        id: access,
        type: 'access_token',
        clientId: 'c',
        grantId: 'g',
        issuedAt: now(),
        expiresAt: now() + 3600,
      },
    ]);
    await store.revokeGrant('g', now());
    const tokenTtl = await redis.ttl(`${store.prefix}t:${access}`);
    const marker = await redis.ttl(`${store.prefix}gr:g`);
    assert.ok(marker >= tokenTtl - 1 && tokenTtl > 3600, `marker ${marker}, token ${tokenTtl}`);
    // The grant's set, persistent while it held a token without expiry, ends with them.
    const set = await redis.ttl(`${store.prefix}g:g`);
    assert.ok(set >= tokenTtl - 1, `grant set ttl ${set}`);
  });

  it('a token already past its retention is not stored at all', async () => {
    const store = new RedisTokenStore(await connect(), { prefix: prefix(), retention: 10 });
    const id = await sha256('stale');
    const saved = await store.saveTokens([
      { id, type: 'access_token', clientId: 'c', grantId: 'g', issuedAt: 1, expiresAt: 2 },
    ]);
    assert.equal(saved, 0);
    assert.equal(await store.findToken(id), undefined);
  });

  it('purge drops index entries of tokens that expired away', async () => {
    const redis = await connect();
    const store = new RedisTokenStore(redis, { prefix: prefix() });
    const ids = await Promise.all(['a', 'b', 'c'].map((v) => sha256(v)));
    await store.saveTokens(
      ids.map((id) => ({
        id,
        type: 'refresh_token' as const,
        clientId: 'c',
        grantId: 'g',
        issuedAt: 1,
      })),
    );
    await redis.del(`${store.prefix}t:${ids[0]}`); // as if its TTL had run out
    await store.purge({ expiredBefore: now(), batchSize: 1 });
    assert.deepEqual((await redis.smembers(`${store.prefix}c:c`)).sort(), ids.slice(1).sort());
  });

  it('refuses a schema newer than it knows', async () => {
    const redis = await connect();
    const store = new RedisTokenStore(redis, { prefix: prefix() });
    await store.migrate();
    assert.equal(await store.schemaVersion(), 2);
    await store.migrate();
    await redis.set(`${store.prefix}schema`, '7');
    await assert.rejects(store.migrate(), SchemaVersionError);
    assert.equal(await store.schemaVersion(), 7, 'a newer version is never lowered');
  });

  it('a store at version 1 upgrades to version 2 (jwks, RFC 7523 §2.2) and keeps its clients and tokens', async () => {
    const redis = await connect();
    const p = prefix();
    // What revokit left at version 1: its schema key, a client hash, a token.
    await redis.set(`${p}schema`, '1');
    await redis.hset(`${p}cl:v1-app`, {
      client_id: 'v1-app',
      client_secret_digest: 'digest',
      token_endpoint_auth_method: 'client_secret_basic',
      resource_server: '1',
    });
    const store = new RedisTokenStore(redis, { prefix: p });
    const id = await sha256('v1-token');
    await store.saveTokens([
      { id, type: 'refresh_token', clientId: 'v1-app', grantId: 'g', issuedAt: now() },
    ]);
    assert.equal(await store.schemaVersion(), 1);
    await Promise.all([
      store.migrate(),
      new RedisTokenStore(await connect(), { prefix: p }).migrate(),
    ]);
    await store.migrate();
    assert.equal(await store.schemaVersion(), 2);
    assert.deepEqual(defined(await store.getClient('v1-app')), {
      clientId: 'v1-app',
      clientSecretDigest: 'digest',
      tokenEndpointAuthMethod: 'client_secret_basic',
      resourceServer: true,
    });
    assert.equal((await store.findToken(id))?.clientId, 'v1-app');
    const upgraded = { ...(await store.getClient('v1-app'))!, jwks: { keys: [JWK] } };
    assert.equal(await store.saveClient(upgraded), 'updated');
    assert.equal(await store.saveClient(upgraded), 'unchanged');
    assert.deepEqual((await store.getClient('v1-app'))?.jwks, { keys: [JWK] });
    assert.equal(await redis.hget(`${p}cl:v1-app`, 'jwks'), JSON.stringify({ keys: [JWK] }));
  });

  it('a stored jwks that is not a JWK Set rejects (answered 503, RFC 7009 §2.2.1), and a new save repairs it', async () => {
    const redis = await connect();
    const store = new RedisTokenStore(redis, { prefix: prefix() });
    await store.migrate();
    const client = { clientId: 'app', tokenEndpointAuthMethod: 'none', jwks: { keys: [JWK] } };
    await store.saveClient(client);
    for (const text of ['{"keys": [', '{"keys": 3}']) {
      await redis.hset(`${store.prefix}cl:app`, 'jwks', text);
      await assert.rejects(store.getClient('app'), ClientRecordError, text);
      await assertDamagedClientFailsAlone(store, 'app', text);
      assert.equal(await store.saveClient(client), 'updated', text);
      assert.deepEqual((await store.getClient('app'))?.jwks, client.jwks);
    }
  });

  it('survives the server forgetting its scripts (SCRIPT FLUSH)', async () => {
    const redis = await connect();
    const store = new RedisTokenStore(redis, { prefix: prefix() });
    const id = await sha256('flush');
    await store.saveTokens([
      { id, type: 'access_token', clientId: 'c', grantId: 'g', issuedAt: 1 },
    ]);
    await redis.script('FLUSH');
    assert.equal(await store.revokeToken(id, now()), 1);
  });

  it('lookups of one event-loop turn are one command, each answered its own (issue #5 "batching")', async () => {
    const redis = await connect();
    const store = new RedisTokenStore(redis, { prefix: prefix() });
    const ids = await Promise.all(['a', 'b'].map((v) => sha256(`batch-${v}`)));
    await store.saveTokens([
      { id: ids[0]!, type: 'access_token', clientId: 'c', grantId: 'g', issuedAt: 1, scope: 's' },
      { id: ids[1]!, type: 'refresh_token', clientId: 'd', grantId: 'h', issuedAt: 2 },
    ]);
    const at = now();
    await store.revokeToken(ids[1]!, at);
    await redis.script('FLUSH'); // the first batch also finds its script gone
    let commands = 0;
    const sendCommand = redis.sendCommand.bind(redis);
    redis.sendCommand = ((...args: Parameters<typeof sendCommand>) => {
      commands++;
      return sendCommand(...args);
    }) as typeof redis.sendCommand;
    const found = await Promise.all(
      [ids[0]!, 'unknown', ids[1]!, ids[0]!].map((id) => store.findToken(id)),
    );
    assert.equal(commands, 2, 'one EVALSHA, answered NOSCRIPT, then one EVAL');
    assert.deepEqual(
      found.map((t) => [t?.clientId, t?.scope, t?.revokedAt]),
      [
        ['c', 's', undefined],
        [undefined, undefined, undefined],
        ['d', undefined, at],
        ['c', 's', undefined],
      ],
    );
    commands = 0;
    await Promise.all(ids.map((id) => store.findToken(id)));
    assert.equal(commands, 1, 'one command for the turn');
    commands = 0;
    const counts = await Promise.all(
      [ids[0]!, ids[1]!, ids[0]!, 'unknown'].map((id) => store.revokeToken(id, at)),
    );
    assert.equal(commands, 2, 'one EVALSHA, answered NOSCRIPT (flushed above), then one EVAL');
    assert.deepEqual(counts, [1, 0, 0, 0], 'each token counted once; revoked already, unknown');
    assert.equal((await store.findToken(ids[0]!))?.revokedAt, at);
    const more = await sha256('batch-c');
    await store.saveTokens([
      { id: more, type: 'access_token', clientId: 'c', grantId: 'g', issuedAt: 1 },
    ]);
    commands = 0;
    assert.deepEqual(
      await Promise.all([more, more].map((id) => store.revokeToken(id, at))),
      [1, 0],
    );
    assert.equal(commands, 1, "one command for the turn's revocations");
  });

  it('migrate() on a client still connecting, offline queue off, waits for the connection (docs/stores.md sample)', async () => {
    // As the documented sample creates it: not lazy, so the first command races the connect.
    const redis = new Redis(service.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    redis.on('error', () => {});
    clients.push(redis);
    const store = new RedisTokenStore(redis, { prefix: prefix() });
    await store.migrate();
    assert.equal(await store.schemaVersion(), 2);
  });

  it('migrate() on a lazyConnect client connects it', async () => {
    const redis = new Redis(service.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
    });
    redis.on('error', () => {});
    clients.push(redis);
    const store = new RedisTokenStore(redis, { prefix: prefix() });
    await store.migrate();
    assert.equal(redis.status, 'ready');
  });

  it('with the offline queue off, a call while disconnected fails at once (answered 503)', async () => {
    const redis = new Redis(`redis://127.0.0.1:1`, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
    });
    redis.on('error', () => {});
    const store = new RedisTokenStore(redis);
    const started = Date.now();
    await assert.rejects(store.findToken('x'));
    assert.ok(Date.now() - started < 1000);
    redis.disconnect();
  });
});
