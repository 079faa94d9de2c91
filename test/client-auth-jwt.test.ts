import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, type JWK, SignJWT, UnsecuredJWT } from 'jose';
import { JWT_BEARER_ASSERTION } from '../src/client-auth/private-key-jwt.js';
import {
  AuthorizationServer,
  createRevocationEndpoint,
  MemoryClientStore,
  MemoryReplayCache,
  MemoryTokenStore,
  type ReplayCache,
} from '../src/index.js';
import { isRevoked, issueGrant } from './support/fixtures.js';

const ISSUER = 'https://as.example';
const store = new MemoryTokenStore();
let publicJwk: JWK;
let privateKey: CryptoKey;
let otherKey: CryptoKey;

async function makeServer(
  issuer: string | null = ISSUER,
  replayCache?: ReplayCache,
  storeTimeout?: number,
) {
  const clients = await MemoryClientStore.fromMetadata([
    {
      client_id: 'jwt',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [publicJwk as Record<string, unknown>] },
    },
    {
      client_id: 'basic',
      client_secret: 'secret',
      token_endpoint_auth_method: 'client_secret_basic',
      jwks: { keys: [publicJwk as Record<string, unknown>] },
    },
  ]);
  const server = new AuthorizationServer({
    clients,
    issuer: issuer ?? undefined,
    replayCache,
    storeTimeout,
  });
  server.registerEndpoint(createRevocationEndpoint(store));
  return server;
}

interface AssertionOptions {
  key?: CryptoKey;
  iss?: string;
  sub?: string;
  aud?: string;
  exp?: number | string;
  iat?: number;
  jti?: string | null;
  alg?: string;
}

function assertion(options: AssertionOptions = {}): Promise<string> {
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: options.alg ?? 'ES256' })
    .setIssuer(options.iss ?? 'jwt')
    .setSubject(options.sub ?? 'jwt')
    .setAudience(options.aud ?? ISSUER)
    .setIssuedAt(options.iat)
    .setExpirationTime(options.exp ?? '2m');
  if (options.jti !== null) jwt.setJti(options.jti ?? randomUUID());
  return jwt.sign(options.key ?? privateKey);
}

function revoke(server: AuthorizationServer, fields: Record<string, string>) {
  return server.createEndpointResponse(
    'revocation',
    new Request(`${ISSUER}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
    }),
  );
}

function jwtFields(token: string, clientAssertion: string): Record<string, string> {
  return { token, client_assertion: clientAssertion, client_assertion_type: JWT_BEARER_ASSERTION };
}

async function expectRefused(
  server: AuthorizationServer,
  clientAssertion: string | Promise<string>,
  fields: Record<string, string> = {},
) {
  const grant = await issueGrant(store, 'jwt');
  const res = await revoke(server, {
    ...jwtFields(grant.refresh, await clientAssertion),
    ...fields,
  });
  assert.equal(res.status, 401, await res.clone().text());
  assert.equal(((await res.json()) as { error: string }).error, 'invalid_client');
  assert.equal(await isRevoked(store, grant.refresh), false, 'a refused request revoked a token');
}

describe('private_key_jwt client authentication (RFC 7523 §2.2, §3)', () => {
  before(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    publicJwk = await exportJWK(pair.publicKey);
    otherKey = (await generateKeyPair('ES256')).privateKey;
  });

  it('a valid assertion addressed to the issuer revokes', async () => {
    const server = await makeServer();
    const grant = await issueGrant(store, 'jwt');
    const res = await revoke(server, jwtFields(grant.refresh, await assertion()));
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(await isRevoked(store, grant.access), true);
  });

  it('an assertion addressed to the issuer with a trailing slash, as an operator may have written it, revokes', async () => {
    const server = await makeServer(`${ISSUER}/`);
    const grant = await issueGrant(store, 'jwt');
    const res = await revoke(
      server,
      jwtFields(grant.access, await assertion({ aud: `${ISSUER}/` })),
    );
    assert.equal(res.status, 200, await res.clone().text());
  });

  it("a valid assertion addressed to the endpoint's URL revokes", async () => {
    const server = await makeServer();
    const grant = await issueGrant(store, 'jwt');
    const res = await revoke(
      server,
      jwtFields(grant.access, await assertion({ aud: `${ISSUER}/oauth/revoke` })),
    );
    assert.equal(res.status, 200);
  });

  it('a replayed assertion (same jti) is refused', async () => {
    const server = await makeServer();
    const once = await assertion();
    const grant = await issueGrant(store, 'jwt');
    assert.equal((await revoke(server, jwtFields(grant.access, once))).status, 200);
    await expectRefused(server, once);
  });

  it('an assertion whose request failed a later row is used up all the same (clarification: row 6, replay; RFC 7523 §3)', async () => {
    const server = await makeServer();
    const once = await assertion();
    const grant = await issueGrant(store, 'jwt');
    const { token: _, ...noToken } = jwtFields(grant.access, once);
    const failed = await revoke(server, noToken);
    assert.equal(failed.status, 400, 'row 8: the token is missing');
    assert.equal(await isRevoked(store, grant.access), false, 'nothing was revoked');
    await expectRefused(server, once);
  });

  it('a replay just past exp, within the clock skew still accepted, is refused (RFC 7523 §3: jti used once)', async () => {
    const server = await makeServer();
    const now = Math.floor(Date.now() / 1000);
    // Expired 5 s ago: within the 30 s skew, so accepted once. It must be remembered as
    // long as it is acceptable, not only until its exp.
    const late = await assertion({ iat: now - 10, exp: now - 5 });
    const grant = await issueGrant(store, 'jwt');
    assert.equal((await revoke(server, jwtFields(grant.access, late))).status, 200);
    await expectRefused(server, late);
  });

  it('servers sharing a replay cache accept an assertion once between them (RFC 7523 §3)', async () => {
    const shared = new MemoryReplayCache();
    const [a, b] = [await makeServer(ISSUER, shared), await makeServer(ISSUER, shared)];
    const once = await assertion();
    const grant = await issueGrant(store, 'jwt');
    assert.equal((await revoke(a, jwtFields(grant.access, once))).status, 200);
    await expectRefused(b, once);
  });

  it('a replay cache that fails or hangs answers 503 temporarily_unavailable, never invalid_client, and revokes nothing (contract row 12; clarification: row 12 covers every store)', async () => {
    const failing: ReplayCache = {
      rememberAssertion: () => Promise.reject(new Error('replay store down')),
    };
    const hanging: ReplayCache = { rememberAssertion: () => new Promise<boolean>(() => {}) };
    for (const replayCache of [failing, hanging]) {
      const server = await makeServer(ISSUER, replayCache, 50);
      const errors: unknown[] = [];
      server.events.on('error', (event) => errors.push(event.error));
      const grant = await issueGrant(store, 'jwt');
      const res = await revoke(server, jwtFields(grant.refresh, await assertion()));
      assert.equal(res.status, 503, await res.clone().text());
      assert.equal(((await res.json()) as { error: string }).error, 'temporarily_unavailable');
      assert.ok(res.headers.get('retry-after'));
      assert.equal(errors.length, 1, 'the failure is reported as an error event');
      assert.equal(
        await isRevoked(store, grant.refresh),
        false,
        'a refused request revoked a token',
      );
    }
  });

  /** A valid assertion but for its `jti`, which may be any JSON value. */
  const withJti = (jti: unknown) =>
    new SignJWT({ jti } as Record<string, unknown>)
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer('jwt')
      .setSubject('jwt')
      .setAudience(ISSUER)
      .setIssuedAt()
      .setExpirationTime('2m')
      .sign(privateKey);

  it('an assertion whose jti is not a string, empty, longer than 256 characters, or holds a NUL or a lone surrogate, is refused (RFC 7519 §4.1.7)', async () => {
    const server = await makeServer();
    // A NUL: PostgreSQL's text cannot hold one, so every store refuses it alike (audit). A
    // lone surrogate becomes U+FFFD in UTF-8, so 'a\ud800' and 'a\udc00' would be one jti.
    for (const jti of [
      { x: 1 },
      ['a'],
      7,
      '',
      'j'.repeat(257),
      'a\u0000b',
      'a\ud800',
      'a\udc00b',
    ]) {
      await expectRefused(server, withJti(jti));
    }
  });

  it('a jti holding a surrogate pair (an emoji) is accepted once (RFC 7519 §4.1.7)', async () => {
    const server = await makeServer();
    const signed = await withJti(`emoji-\u{1F600}-${Math.random()}`);
    const grant = await issueGrant(store, 'jwt');
    const res = await revoke(server, jwtFields(grant.refresh, signed));
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(await isRevoked(store, grant.refresh), true);
    await expectRefused(server, signed);
  });

  it('an assertion signed with another key is refused', async () => {
    await expectRefused(await makeServer(), assertion({ key: otherKey }));
  });
  it('an expired assertion is refused', async () => {
    await expectRefused(
      await makeServer(),
      assertion({
        iat: Math.floor(Date.now() / 1000) - 7200,
        exp: Math.floor(Date.now() / 1000) - 3600,
      }),
    );
  });
  it('an assertion older than five minutes is refused even if exp is far away', async () => {
    await expectRefused(
      await makeServer(),
      assertion({ iat: Math.floor(Date.now() / 1000) - 900, exp: '1h' }),
    );
  });
  it('an assertion for another audience is refused', async () => {
    await expectRefused(await makeServer(), assertion({ aud: 'https://elsewhere.example' }));
  });
  it('an assertion whose iss is not the client is refused', async () => {
    await expectRefused(await makeServer(), assertion({ iss: 'someone-else' }));
  });
  it('an assertion without jti is refused', async () => {
    await expectRefused(await makeServer(), assertion({ jti: null }));
  });
  it('an HMAC assertion keyed with anything is refused (no algorithm confusion)', async () => {
    const hmac = new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('jwt')
      .setSubject('jwt')
      .setAudience(ISSUER)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('2m')
      .sign(new TextEncoder().encode('x'.repeat(32)));
    await expectRefused(await makeServer(), hmac);
  });
  it('an unsecured assertion (alg none) is refused', async () => {
    const unsecured = new UnsecuredJWT({})
      .setIssuer('jwt')
      .setSubject('jwt')
      .setAudience(ISSUER)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('2m')
      .encode();
    await expectRefused(await makeServer(), unsecured);
  });
  it('a wrong client_assertion_type is refused', async () => {
    await expectRefused(await makeServer(), assertion(), {
      client_assertion_type: 'urn:example:other',
    });
  });
  it('a client_id that is not the assertion subject is refused', async () => {
    await expectRefused(await makeServer(), assertion(), { client_id: 'basic' });
  });
  it('without a configured issuer no assertion is trusted', async () => {
    await expectRefused(await makeServer(null), assertion());
  });
  it('a client registered for client_secret_basic cannot use an assertion (RFC 6749 §2.3)', async () => {
    const server = await makeServer();
    const grant = await issueGrant(store, 'basic');
    const res = await revoke(
      server,
      jwtFields(grant.refresh, await assertion({ iss: 'basic', sub: 'basic' })),
    );
    assert.equal(res.status, 401);
    assert.equal(await isRevoked(store, grant.refresh), false);
  });

  it('metadata advertises private_key_jwt and its algorithms (RFC 8414 §2)', async () => {
    const metadata = (await makeServer()).metadata();
    assert.ok(metadata.revocation_endpoint_auth_methods_supported?.includes('private_key_jwt'));
    assert.ok(
      (metadata.revocation_endpoint_auth_signing_alg_values_supported as string[]).includes(
        'ES256',
      ),
    );
    assert.ok(
      !(metadata.revocation_endpoint_auth_signing_alg_values_supported as string[]).includes(
        'HS256',
      ),
    );
  });
});

describe('MemoryReplayCache: one partition a client (RFC 7523 §3)', () => {
  const later = () => Math.floor(Date.now() / 1000) + 60;

  it("a client flooding its own partition cannot push another client's jti out", () => {
    const cache = new MemoryReplayCache(10);
    assert.equal(cache.rememberAssertion('victim', 'captured', later()), true);
    for (let i = 0; i < 1000; i++) cache.rememberAssertion('attacker', `j${i}`, later());
    assert.equal(cache.rememberAssertion('victim', 'captured', later()), false);
  });

  it('a partition full of live entries refuses the next new jti: it fails closed', () => {
    const cache = new MemoryReplayCache(3);
    for (const jti of ['a', 'b', 'c'])
      assert.equal(cache.rememberAssertion('c1', jti, later()), true);
    assert.equal(cache.rememberAssertion('c1', 'd', later()), false);
    assert.equal(cache.rememberAssertion('c2', 'd', later()), true, 'other clients are unaffected');
  });

  it('expired entries make room, and an expired jti may be recorded again', () => {
    const cache = new MemoryReplayCache(2);
    const past = Math.floor(Date.now() / 1000) - 1;
    assert.equal(cache.rememberAssertion('c', 'a', past), true);
    assert.equal(cache.rememberAssertion('c', 'b', past), true);
    assert.equal(cache.rememberAssertion('c', 'x', later()), true);
    assert.equal(cache.rememberAssertion('c', 'a', later()), true);
  });
});
