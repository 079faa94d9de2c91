import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { JWT_BEARER_ASSERTION } from '../src/client-auth/private-key-jwt.js';
import { sha256 } from '../src/crypto/digest.js';
import { SqliteTokenStore } from '../src/stores/sqlite/sqlite-token-store.js';
import {
  assertUnavailable,
  introspect,
  isActive,
  revoke,
  runCli,
  SEED,
  startServe,
  writeSeed,
} from './support/cli-process.js';
import { FORM, form, send } from './support/http-client.js';
import { redisForTests } from './support/services.js';
import { tempDir } from './support/temp-dir.js';

const root = tempDir('revokit-cli-');
let n = 0;
const freshDir = () => mkdtempSync(join(root, `${n++}-`));

/** One line on stderr, prefixed, with no stack trace. */
function assertOneLine(stderr: string, pattern: RegExp): void {
  assert.match(stderr, /^revokit: /);
  assert.equal(stderr.trimEnd().split('\n').length, 1, `more than one line:\n${stderr}`);
  assert.doesNotMatch(stderr, /\n\s+at |node:internal/, 'a stack trace leaked');
  assert.match(stderr, pattern);
}

describe('issue #3 "revokit serve --store URL": bad URLs and unreachable stores', () => {
  for (const [url, pattern] of [
    ['nosuch:thing', /expected sqlite:PATH, postgres:\/\/…, redis:\/\/… or memory:/],
    ['sqlite:', /expected sqlite:PATH/],
    ['postgres://', /no host|malformed/],
    ['redis://:@', /no host|malformed/],
    ['memory:extra', /takes no path/],
    ['redis://127.0.0.1:6379/abc', /the Redis database must be a number/],
  ] as const) {
    it(`--store ${url} is a usage error: exit 2, one line, no stack trace`, async () => {
      const run = await runCli(['serve', '--port', '0', '--store', url], freshDir());
      assert.equal(run.code, 2);
      assertOneLine(run.stderr, pattern);
    });
  }
  for (const [url, pattern] of [
    ['postgres://revokit:hunter2@127.0.0.1:1/revokit', /ECONNREFUSED/],
    ['redis://127.0.0.1:1', /ECONNREFUSED/],
    ['sqlite:/nonexistent-dir/revokit.db', /directory does not exist/],
  ] as const) {
    it(`an unreachable ${url.split(':')[0]} store exits 1 with one line`, async () => {
      const run = await runCli(['serve', '--port', '0', '--store', url], freshDir());
      assert.equal(run.code, 1);
      assertOneLine(run.stderr, pattern);
      assert.doesNotMatch(run.stderr, /hunter2/, 'the password leaked');
    });
  }
});

describe('issue #3 "revokit migrate|revoke|purge --store URL": stores that do not answer, and passwords', () => {
  it('a Redis URL to a port that accepts and never answers ends within seconds, exit 1, one line', async () => {
    const silent = createServer((socket) => socket.on('data', () => {}));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      for (const command of [['migrate'], ['revoke', '--client', 'x']]) {
        const started = Date.now();
        const run = await runCli(
          [...command, '--store', `redis://:hunter2@127.0.0.1:${port}`],
          freshDir(),
        );
        assert.equal(run.code, 1, run.stderr);
        assert.ok(Date.now() - started < 15_000, `${command[0]} took ${Date.now() - started} ms`);
        assertOneLine(run.stderr, /./);
        assert.doesNotMatch(run.stderr, /hunter2/, 'the password leaked');
      }
    } finally {
      silent.close();
    }
  });

  it("a Redis database past the server's count fails, never silently database 0", async () => {
    const redis = await redisForTests();
    try {
      const run = await runCli(['migrate', '--store', `${redis.url}/99`], freshDir());
      assert.equal(run.code, 1, run.stdout);
      assertOneLine(run.stderr, /DB index is out of range/);
    } finally {
      await redis.destroy();
    }
  });

  it('a mistyped scheme, or a URL given without --store, never prints its password', async () => {
    for (const args of [
      ['migrate', '--store', 'postgress://revokit:hunter2@127.0.0.1/revokit'],
      ['migrate', '--store', 'sqlite://revokit:hunter2@host/db'],
      ['migrate', 'postgres://revokit:hunter2@127.0.0.1/revokit'],
    ]) {
      const run = await runCli(args, freshDir());
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /revokit:\*\*\*@/);
      assert.doesNotMatch(run.stderr, /hunter2/, 'the password leaked');
    }
  });
});

describe('issue #3 "The memory store … logs a one-line not for production warning"', () => {
  it('serve --store memory: warns once, in one line', async () => {
    const server = await startServe(['--store', 'memory:'], freshDir());
    await server.stop();
    const warnings = server.logs.filter(
      (l) => l.level === 'warn' && /not for production/.test(l.msg),
    );
    assert.equal(warnings.length, 1);
  });
});

describe('issue #3 "Restart": the SQLite default survives a restart of serve', () => {
  it('with no --store, a token revoked before a restart is still revoked after it', async () => {
    const dir = freshDir();
    const seed = writeSeed(dir);
    const first = await startServe(['--seed', seed], dir);
    assert.equal(first.logs.find((l) => l.msg === 'listening')?.store, 'sqlite:./revokit.db');
    assert.equal((await revoke(first.url, 'cli-refresh-1')).status, 200);
    assert.equal(await isActive(first.url, 'cli-access-1'), false);
    assert.equal(await first.stop(), 0);
    assert.ok(existsSync(join(dir, 'revokit.db')), 'the default store is ./revokit.db');

    // The same seed again: nothing is added twice and nothing is un-revoked.
    const second = await startServe(['--seed', seed], dir);
    try {
      const loaded = second.logs.find((l) => l.msg === 'seed loaded');
      assert.equal(loaded?.tokens_inserted, 0);
      // Both counts are of tokens: two entries, each an access and a refresh token.
      assert.equal(loaded?.tokens, 4);
      assert.equal(loaded?.clients_inserted, 0);
      assert.equal(loaded?.clients_updated, 0);
      for (const token of ['cli-refresh-1', 'cli-access-1']) {
        assert.equal(await isActive(second.url, token), false, `${token} came back to life`);
      }
      assert.equal(await isActive(second.url, 'cli-access-2'), true);
    } finally {
      await second.stop();
    }
  });

  it('a seeded token revoked, then purged, stays gone when the same seed is applied again (RFC 7009 §2.2)', async () => {
    const dir = freshDir();
    // No expiry: purge deletes such a token once its revocation is older than the cutoff.
    const seed = writeSeed(dir, {
      clients: SEED.clients,
      tokens: [{ client_id: 'app', access_token: 'cli-lone' }, ...SEED.tokens],
    });
    const first = await startServe(['--seed', seed], dir);
    assert.equal((await revoke(first.url, 'cli-lone')).status, 200);
    assert.equal(await isActive(first.url, 'cli-lone'), false);
    assert.equal(await first.stop(), 0);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // revoked before the cutoff
    const purge = await runCli(['purge', '--retention', '0'], dir);
    assert.equal(purge.code, 0, purge.stderr);
    assert.match(purge.stdout, /purged 1 token/);

    const second = await startServe(['--seed', seed], dir);
    try {
      assert.equal(second.logs.find((l) => l.msg === 'seed loaded')?.tokens_inserted, 0);
      assert.equal(await isActive(second.url, 'cli-lone'), false, 'a purged token came back');
      assert.equal(await isActive(second.url, 'cli-access-2'), true);
    } finally {
      await second.stop();
    }
  });

  it('without --seed, clients stored before still authenticate after a restart', async () => {
    const dir = freshDir();
    const first = await startServe(['--seed', writeSeed(dir)], dir);
    await first.stop();
    const second = await startServe([], dir);
    try {
      assert.equal(await isActive(second.url, 'cli-access-2'), true);
    } finally {
      await second.stop();
    }
  });
});

describe('private_key_jwt clients persist in SQLite (RFC 7523 §2.2, RFC 7591 §2 jwks)', () => {
  /** A form POST authenticated by an RFC 7523 §3 client assertion for the server at `url`. */
  async function withAssertion(url: string, path: string, token: string, key: CryptoKey) {
    const clientAssertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer('jwt-app')
      .setSubject('jwt-app')
      .setAudience(url) // the issuer of `revokit serve` is the URL it listens on
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(key);
    return send(url, {
      path,
      headers: { 'content-type': FORM },
      body: form({
        token,
        client_assertion: clientAssertion,
        client_assertion_type: JWT_BEARER_ASSERTION,
      }),
    });
  }

  it('serve --store sqlite: --seed accepts a revocation signed with the seeded key, and so does a restart without --seed', async () => {
    const dir = freshDir();
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const other = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', use: 'sig', alg: 'ES256' };
    const seed = writeSeed(dir, {
      clients: [
        {
          client_id: 'jwt-app',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [jwk] },
        },
      ],
      tokens: [
        {
          client_id: 'jwt-app',
          access_token: 'jwt-access-1',
          refresh_token: 'jwt-refresh-1',
          expires_in: 3600,
        },
        { client_id: 'jwt-app', access_token: 'jwt-access-2', expires_in: 3600 },
      ],
    });
    const store = `sqlite:${join(dir, 'jwt.db')}`;
    const active = async (url: string, token: string) => {
      const res = await withAssertion(url, '/oauth/introspect', token, privateKey);
      assert.equal(res.status, 200, `introspection answered ${res.status} ${res.body}`);
      return (res.json as { active: boolean }).active;
    };

    const first = await startServe(['--store', store, '--seed', seed], dir);
    try {
      assert.equal(first.logs.find((l) => l.msg === 'seed loaded')?.clients_inserted, 1);
      const forged = await withAssertion(
        first.url,
        '/oauth/revoke',
        'jwt-refresh-1',
        other.privateKey,
      );
      assert.equal(forged.status, 401, 'an assertion signed by another key was accepted');
      const res = await withAssertion(first.url, '/oauth/revoke', 'jwt-refresh-1', privateKey);
      assert.equal(res.status, 200, res.body);
      assert.equal(await active(first.url, 'jwt-access-1'), false, 'the grant was not revoked');
      assert.equal(await active(first.url, 'jwt-access-2'), true);
    } finally {
      await first.stop();
    }

    // No seed: the client, keys included, comes from the file alone.
    const second = await startServe(['--store', store], dir);
    try {
      const res = await withAssertion(second.url, '/oauth/revoke', 'jwt-access-2', privateKey);
      assert.equal(res.status, 200, res.body);
      assert.equal(await active(second.url, 'jwt-access-2'), false);
      assert.equal(await active(second.url, 'jwt-access-1'), false);
    } finally {
      await second.stop();
    }

    // The same seed again finds the stored keys identical: nothing replaced, no warning.
    const third = await startServe(['--store', store, '--seed', seed], dir);
    await third.stop();
    assert.equal(third.logs.find((l) => l.msg === 'seed loaded')?.clients_updated, 0);
    assert.equal(
      third.logs.some((l) => l.level === 'warn'),
      false,
    );
  });
});

describe('issue #3 "Seeding a persistent store": never overwrites a secret without saying so', () => {
  it('a changed secret in the seed is applied with a warning naming the client, not the secret', async () => {
    const dir = freshDir();
    const first = await startServe(['--seed', writeSeed(dir)], dir);
    await first.stop();
    const changed = { ...SEED, clients: [{ client_id: 'app', client_secret: 'rotated-secret' }] };
    const second = await startServe(['--seed', writeSeed(dir, changed, 'changed.json')], dir);
    try {
      const warning = second.logs.find((l) => l.level === 'warn' && l.client_id === 'app');
      assert.ok(warning, 'no warning names the changed client');
      assert.match(warning.msg, /replaces/);
      const all = JSON.stringify(second.logs);
      assert.doesNotMatch(all, /rotated-secret|app-secret/, 'a secret reached the logs');
      assert.equal((await introspect(second.url, 'cli-access-1', 'app-secret')).status, 401);
      assert.equal((await introspect(second.url, 'cli-access-1', 'rotated-secret')).status, 200);
    } finally {
      await second.stop();
    }
  });
});

describe('issue #3 "Failures": SQLite locked past the busy timeout answers 503', () => {
  it('a revocation while another process holds the write lock is 503 with Retry-After, and revokes nothing', async () => {
    const dir = freshDir();
    const server = await startServe(['--seed', writeSeed(dir)], dir);
    const other = new Database(join(dir, 'revokit.db'));
    try {
      other.exec('BEGIN IMMEDIATE');
      assertUnavailable(await revoke(server.url, 'cli-refresh-2'));
      other.exec('ROLLBACK');
      assert.equal(await isActive(server.url, 'cli-refresh-2'), true, 'half-revoked');
      assert.equal(await isActive(server.url, 'cli-access-2'), true, 'half-revoked');
      assert.equal((await revoke(server.url, 'cli-refresh-2')).status, 200);
      assert.equal(await isActive(server.url, 'cli-access-2'), false);
    } finally {
      other.close();
      await server.stop();
    }
  });
});

describe('issue #3 "Migrations": revokit migrate', () => {
  it('migrates a new store, and again without change, saying which (audit finding)', async () => {
    const dir = freshDir();
    const expected = [/from schema version 0 to 5$/m, /was already at schema version 5$/m];
    for (const pattern of expected) {
      const run = await runCli(['migrate', '--store', 'sqlite:./m.db'], dir);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, pattern);
    }
    const db = new Database(join(dir, 'm.db'));
    assert.equal(new SqliteTokenStore(db).schemaVersion(), 5);
    db.close();
  });
});

describe('issue #3 "Bulk revocation for operators": revokit revoke', () => {
  async function seeded(): Promise<string> {
    const dir = freshDir();
    const server = await startServe(['--seed', writeSeed(dir)], dir);
    await server.stop();
    return dir;
  }
  async function active(dir: string, token: string): Promise<boolean> {
    const db = new Database(join(dir, 'revokit.db'));
    try {
      const found = await new SqliteTokenStore(db).findToken(await sha256(token));
      assert.ok(found);
      return found.revokedAt === undefined;
    } finally {
      db.close();
    }
  }

  it('--subject revokes every token of the resource owner and prints how many', async () => {
    const dir = await seeded();
    const run = await runCli(['revoke', '--subject', 'alice'], dir);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'revoked 2 tokens');
    assert.equal(await active(dir, 'cli-access-1'), false);
    assert.equal(await active(dir, 'cli-refresh-1'), false);
    assert.equal(await active(dir, 'cli-access-2'), true);
    const again = await runCli(['revoke', '--subject', 'alice'], dir);
    assert.equal(again.stdout.trim(), 'revoked 0 tokens');
  });

  it('--client revokes every token of the client', async () => {
    const dir = await seeded();
    const run = await runCli(['revoke', '--store', 'sqlite:./revokit.db', '--client', 'app'], dir);
    assert.equal(run.stdout.trim(), 'revoked 4 tokens');
    for (const token of ['cli-access-1', 'cli-refresh-1', 'cli-access-2', 'cli-refresh-2']) {
      assert.equal(await active(dir, token), false);
    }
  });

  it('--grant revokes the grant; --client with --subject needs both to match', async () => {
    const dir = await seeded();
    const both = await runCli(['revoke', '--client', 'app', '--subject', 'bob'], dir);
    assert.equal(both.stdout.trim(), 'revoked 2 tokens');
    assert.equal(await active(dir, 'cli-access-1'), true);
    const grantId = `seed-${(await sha256('grant:cli-refresh-1')).slice(0, 32)}`;
    const grant = await runCli(['revoke', '--grant', grantId], dir);
    assert.equal(grant.stdout.trim(), 'revoked 2 tokens');
    assert.equal(await active(dir, 'cli-access-1'), false);
  });

  it('with no filter it refuses (exit 2) and revokes nothing', async () => {
    const dir = await seeded();
    for (const args of [['revoke'], ['revoke', '--client', '']]) {
      const run = await runCli(args, dir);
      assert.equal(run.code, 2);
      assertOneLine(run.stderr, /--client|--subject|--grant/);
    }
    assert.equal(await active(dir, 'cli-access-1'), true);
    assert.equal(await active(dir, 'cli-access-2'), true);
  });
});

describe('issue #3 "revokit purge": expired and past retention, in batches', () => {
  it('deletes tokens that ended before the retention window and keeps the rest', async () => {
    const dir = freshDir();
    const now = Math.floor(Date.now() / 1000);
    const seed = {
      clients: SEED.clients,
      tokens: [
        ...Array.from({ length: 7 }, (_, i) => ({
          client_id: 'app',
          access_token: `old-${i}`,
          issued_at: now - 10_000,
          expires_in: 60,
        })),
        { client_id: 'app', access_token: 'recent', issued_at: now - 200, expires_in: 60 },
        { client_id: 'app', access_token: 'live', expires_in: 3600 },
      ],
    };
    const server = await startServe(['--seed', writeSeed(dir, seed)], dir);
    await server.stop();
    const run = await runCli(['purge', '--retention', '3600', '--batch-size', '3'], dir);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^purged 7 tokens that ended before /);
    const db = new Database(join(dir, 'revokit.db'));
    const store = new SqliteTokenStore(db);
    assert.equal(await store.findToken(await sha256('old-0')), undefined);
    assert.ok(await store.findToken(await sha256('recent')));
    assert.ok(await store.findToken(await sha256('live')));
    db.close();
    const bad = await runCli(['purge', '--retention', 'soon'], dir);
    assert.equal(bad.code, 2);
    assertOneLine(bad.stderr, /--retention must be a whole number/);
  });
});
