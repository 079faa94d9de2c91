import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import {
  assertUnavailable,
  eventually,
  introspect,
  isActive,
  revoke,
  runCli,
  type ServeProcess,
  startServe,
  writeSeed,
} from './support/cli-process.js';
import { basic, FORM, form, send } from './support/http-client.js';
import { type Service, startPostgres, startRedis } from './support/services.js';
import { tempDir } from './support/temp-dir.js';

const root = tempDir('revokit-shared-');

const ISSUER = 'https://as.example';
const keys = await generateKeyPair('ES256');

const SEED = {
  clients: [
    { client_id: 'app', client_secret: 'app-secret' },
    {
      client_id: 'signer',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [await exportJWK(keys.publicKey)] },
    },
  ],
  tokens: [1, 2, 3, 4].map((i) => ({
    client_id: 'app',
    access_token: `shared-access-${i}`,
    refresh_token: `shared-refresh-${i}`,
    sub: i === 4 ? 'dave' : 'alice',
    expires_in: 3600,
  })),
};

/**
 * Issue #3 "Two processes, one store" and "Faults", against a real server the test starts
 * (and stops, and starts again) itself.
 */
function sharedStoreSuite(name: string, startService: () => Promise<Service>): void {
  describe(`issue #3 with ${name}: two revokit serve processes, one store`, () => {
    let service: Service;
    let first: ServeProcess;
    let second: ServeProcess;
    before(async () => {
      service = await startService();
      const dir = mkdtempSync(join(root, `${name}-`));
      const seed = writeSeed(dir, SEED);
      // Both load the same seed: the second adds nothing.
      const args = ['--store', service.url, '--seed', seed, '--issuer', ISSUER];
      first = await startServe(args, dir);
      second = await startServe(args, dir);
    });
    after(async () => {
      await first?.stop();
      await second?.stop();
      await service?.destroy();
    });

    it('the second server loads the same seed without adding anything twice', () => {
      const loaded = second.logs.find((l) => l.msg === 'seed loaded');
      assert.equal(loaded?.tokens_inserted, 0);
      assert.equal(loaded?.clients_inserted, 0);
    });

    it('a revocation through the first answers active:false through the second on the very next request (RFC 7662 §2.2)', async () => {
      assert.equal(await isActive(second.url, 'shared-access-1'), true);
      assert.equal((await revoke(first.url, 'shared-access-1')).status, 200);
      const res = await introspect(second.url, 'shared-access-1');
      assert.deepEqual(res.json, { active: false });
      assert.equal(await isActive(second.url, 'shared-refresh-1'), true, 'only the access token');
    });

    it('revoking a refresh token through the first revokes its grant for the second (RFC 7009 §2.1)', async () => {
      assert.equal((await revoke(first.url, 'shared-refresh-2')).status, 200);
      assert.equal(await isActive(second.url, 'shared-access-2'), false);
      assert.equal(await isActive(second.url, 'shared-refresh-2'), false);
    });

    it('a client assertion accepted by the first is refused as a replay by the second (RFC 7523 §3)', async () => {
      const assertion = await new SignJWT({})
        .setProtectedHeader({ alg: 'ES256' })
        .setIssuer('signer')
        .setSubject('signer')
        .setAudience(ISSUER)
        .setIssuedAt()
        .setExpirationTime('2m')
        .setJti(randomUUID())
        .sign(keys.privateKey);
      const post = (url: string) =>
        send(url, {
          path: '/oauth/revoke',
          headers: { 'content-type': FORM },
          body: form({
            token: 'not-a-token',
            client_assertion: assertion,
            client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          }),
        });
      assert.equal((await post(first.url)).status, 200);
      const replayed = await post(second.url);
      assert.equal(replayed.status, 401);
      assert.equal((replayed.json as { error: string }).error, 'invalid_client');
    });

    it('revokit revoke --subject on the shared store is seen by both servers', async () => {
      const run = await runCli(['revoke', '--store', service.url, '--subject', 'dave'], root);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout.trim(), 'revoked 2 tokens');
      assert.equal(await isActive(first.url, 'shared-access-4'), false);
      assert.equal(await isActive(second.url, 'shared-refresh-4'), false);
    });

    it('store down: 503 temporarily_unavailable with Retry-After, nothing half-done; back up: 200 from the same processes (RFC 7009 §2.2.1)', {
      timeout: 90_000,
    }, async () => {
      const before = first.child.pid;
      await service.stop();
      assertUnavailable(await revoke(first.url, 'shared-refresh-3'));
      assertUnavailable(await introspect(second.url, 'shared-access-3'));
      await service.start();
      await eventually(`${name} back for the first server`, async () => {
        const res = await introspect(first.url, 'shared-access-3');
        return res.status === 200;
      });
      await eventually(`${name} back for the second server`, async () => {
        const res = await introspect(second.url, 'shared-access-3');
        return res.status === 200;
      });
      assert.equal(first.child.pid, before);
      assert.equal(first.child.exitCode, null, 'the server kept running');
      // The failed cascade left the whole grant as it was: nothing half-revoked.
      assert.equal(await isActive(second.url, 'shared-access-3'), true);
      assert.equal(await isActive(second.url, 'shared-refresh-3'), true);
      assert.equal((await revoke(first.url, 'shared-refresh-3')).status, 200);
      assert.equal(await isActive(second.url, 'shared-access-3'), false);
      assert.equal(await isActive(second.url, 'shared-refresh-3'), false);
      // What was revoked before the outage stayed revoked through it.
      assert.equal(await isActive(second.url, 'shared-access-1'), false);
    });

    it('the outage was logged, without a secret or a token', () => {
      const text = JSON.stringify([...first.logs, ...second.logs]);
      assert.match(text, /"status":503/);
      assert.doesNotMatch(text, /app-secret|shared-(access|refresh)-/);
    });
  });
}

sharedStoreSuite('postgres', startPostgres);
sharedStoreSuite('redis', startRedis);

/**
 * A TCP relay that can go silent: after `freeze()`, no byte passes either way on any flow,
 * old or new, and nothing is closed, as in a network partition that sends no reset. After
 * `heal()`, new flows pass again; those frozen stay frozen, as TCP flows do whose packets
 * were lost until they time out.
 */
async function freezableRelay(target: number): Promise<{
  port: number;
  freeze(): void;
  heal(): void;
  close(): void;
}> {
  const { createConnection, createServer } = await import('node:net');
  type Socket = import('node:net').Socket;
  let frozen = false;
  const flows = new Set<{ frozen: boolean; sockets: Socket[] }>();
  const relay = createServer((client) => {
    const upstream = createConnection(target, '127.0.0.1');
    const flow = { frozen, sockets: [client, upstream] };
    flows.add(flow);
    for (const socket of flow.sockets) {
      socket.on('error', () => {});
      socket.on('close', () => flows.delete(flow));
    }
    const pass = (from: Socket, to: Socket) =>
      from.on('data', (chunk) => {
        if (!flow.frozen) to.write(chunk);
      });
    pass(client, upstream);
    pass(upstream, client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  return {
    port: (relay.address() as import('node:net').AddressInfo).port,
    freeze: () => {
      frozen = true;
      for (const flow of flows) flow.frozen = true;
    },
    heal: () => {
      frozen = false;
    },
    close: () => {
      relay.close();
      for (const flow of flows) for (const socket of flow.sockets) socket.destroy();
    },
  };
}

/** Introspects through `url` with time for the store timeout to answer first. */
function slowIntrospect(url: string, token: string) {
  return send(url, {
    path: '/oauth/introspect',
    headers: { 'content-type': FORM, authorization: basic('app', 'app-secret') },
    body: form({ token }),
    timeout: 15_000,
  });
}

/**
 * Audit findings: a store whose connections went silent (a partition without a reset)
 * must neither keep the server down once the network is back nor keep it from exiting.
 */
function silentStoreSuite(name: string, startService: () => Promise<Service>): void {
  describe(`audit finding with ${name}: a store whose connections go silent`, () => {
    let service: Service;
    let relay: Awaited<ReturnType<typeof freezableRelay>>;
    let server: ServeProcess | undefined;
    const start = async () => {
      relay = await freezableRelay(service.port);
      const dir = mkdtempSync(join(root, `${name}-silent-`));
      const url = service.url.replace(`:${service.port}`, `:${relay.port}`);
      server = await startServe(['--store', url, '--seed', writeSeed(dir, SEED)], dir);
      return server;
    };
    before(async () => {
      service = await startService();
    });
    after(async () => {
      await service?.destroy();
    });

    it('once the network is back, the server answers again: silent connections are dropped (RFC 7009 §2.2.1)', {
      timeout: 90_000,
    }, async () => {
      const serve = await start();
      try {
        // Warm: the pool or the client holds connections that will go silent.
        await Promise.all(Array.from({ length: 10 }, () => isActive(serve.url, 'shared-access-2')));
        relay.freeze();
        const during = await Promise.all(
          Array.from({ length: 10 }, () => slowIntrospect(serve.url, 'shared-access-2')),
        );
        for (const res of during) assertUnavailable(res);
        relay.heal();
        await eventually(
          `${name} answering again after the partition`,
          async () => (await introspect(serve.url, 'shared-access-2')).status === 200,
          40_000,
        );
        assert.equal(await isActive(serve.url, 'shared-access-2'), true);
        assert.equal(serve.child.exitCode, null, 'the server kept running');
      } finally {
        serve.child.kill('SIGKILL');
        relay.close();
      }
    });

    it('SIGTERM while a store call hangs: the server exits within seconds', {
      timeout: 60_000,
    }, async () => {
      const serve = await start();
      try {
        assert.equal(await isActive(serve.url, 'shared-access-2'), true);
        relay.freeze();
        // The store timeout answers (row 12) while the call itself stays stuck.
        assertUnavailable(await slowIntrospect(serve.url, 'shared-access-2'));
        const started = Date.now();
        assert.equal(await serve.stop(), 0);
        assert.ok(Date.now() - started < 15_000, `exit took ${Date.now() - started} ms`);
      } finally {
        serve.child.kill('SIGKILL');
        relay.close();
      }
    });
  });
}

silentStoreSuite('postgres', startPostgres);
silentStoreSuite('redis', startRedis);

describe('revokit serve --store-timeout: the store limits move with it (RFC 7009 §2.2.1; docs/stores.md, PostgreSQL statement timeout)', () => {
  let service: Service;
  let serve: ServeProcess | undefined;
  before(async () => {
    service = await startPostgres();
  });
  after(async () => {
    await serve?.stop();
    await service?.destroy();
  });

  it('with --store-timeout 2000 a revocation held by a row lock answers 503 within the 1300 ms PostgreSQL now allows a statement, and nothing is revoked', {
    timeout: 60_000,
  }, async () => {
    const dir = mkdtempSync(join(root, 'store-timeout-'));
    serve = await startServe(
      ['--store', service.url, '--seed', writeSeed(dir, SEED), '--store-timeout', '2000'],
      dir,
    );
    assert.equal(await isActive(serve.url, 'shared-access-3'), true);
    const { default: pg } = await import('pg');
    const holder = new pg.Client({ connectionString: service.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query("SELECT 1 FROM revokit_tokens WHERE client_id = 'app' FOR UPDATE");
      const started = Date.now();
      const res = await send(serve.url, {
        path: '/oauth/revoke',
        headers: { 'content-type': FORM, authorization: basic('app', 'app-secret') },
        body: form({ token: 'shared-access-3' }),
        timeout: 15_000,
      });
      const took = Date.now() - started;
      assertUnavailable(res);
      // statement_timeout is 1300 ms under --store-timeout 2000; the default's 4000 ms
      // would hold the answer past 4 s.
      assert.ok(took < 3500, `answered after ${took} ms`);
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      await holder.end();
    }
    // Cancelled by the database, not committed behind the 503.
    assert.equal(await isActive(serve.url, 'shared-access-3'), true);
    assert.equal((await revoke(serve.url, 'shared-access-3')).status, 200);
    assert.equal(await isActive(serve.url, 'shared-access-3'), false);
  });
});
