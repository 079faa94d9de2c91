import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance } from 'fastify';
import { endpoint, routes } from '../../src/adapters/fastify.js';
import type { Mounted } from '../support/endpoint-suite.js';
import { assertError, assertRevoked200, runEndpointSuite } from '../support/endpoint-suite.js';
import { form, send } from '../support/http-client.js';
import { revoke, type TestServer, testServer } from './support.js';

async function listen(app: FastifyInstance): Promise<Mounted> {
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url,
    async close() {
      app.server.closeAllConnections();
      await app.close();
    },
  };
}

// Issue #4: the whole endpoint suite through revokit/fastify's routes plugin.
runEndpointSuite('Fastify 5: register(routes(server))', async (server) => {
  const app = Fastify();
  await app.register(routes(server));
  return listen(app);
});

// Issue #4: again with @fastify/formbody registered before revokit. The plugin's scope
// overrides it, so every row holds.
runEndpointSuite(
  'Fastify 5: @fastify/formbody registered first, then register(routes(server))',
  async (server) => {
    const app = Fastify();
    await app.register(formbody);
    app.post('/echo', async (request) => request.body);
    await app.register(routes(server));
    return listen(app);
  },
  { propertyRuns: 300 },
);

// Issue #4: one plugin per endpoint, each on its path.
runEndpointSuite(
  'Fastify 5: register(endpoint(server, name, path)) per endpoint',
  async (server) => {
    const app = Fastify();
    await app.register(formbody);
    for (const [name, path] of Object.entries(server.options.paths)) {
      await app.register(endpoint(server, name, path));
    }
    return listen(app);
  },
  { propertyRuns: 300 },
);

describe('Fastify: one endpoint on a route of the app’s choosing (issue #4)', () => {
  let t: TestServer;
  let mounted: Mounted;
  before(async () => {
    t = await testServer();
    const app = Fastify();
    await app.register(formbody);
    app.post('/echo', async (request) => request.body);
    await app.register(endpoint(t.server, 'revocation', '/tokens/revoke'), { prefix: '/auth' });
    mounted = await listen(app);
  });
  after(() => mounted.close());

  it('revokes at /auth/tokens/revoke (RFC 7009 §2.1)', async () => {
    const grant = await t.grant();
    assertRevoked200(
      await revoke(mounted.url, '/auth/tokens/revoke', form({ token: grant.access })),
    );
    assert.equal(await t.revoked(grant.access), true);
  });
  it('refuses a repeated parameter there, though formbody is registered (contract row 5)', async () => {
    const grant = await t.grant();
    const body = form([
      ['token', grant.refresh],
      ['token', grant.access],
    ]);
    assertError(await revoke(mounted.url, '/auth/tokens/revoke', body), 400, 'invalid_request');
    assert.equal(await t.revoked(grant.refresh), false);
  });
  it('answers GET there with 405 and Allow: POST (contract row 1)', async () => {
    const res = await send(mounted.url, { method: 'GET', path: '/auth/tokens/revoke' });
    assertError(res, 405, 'invalid_request');
    assert.equal(res.headers.allow, 'POST');
  });
  it('answers a Content-Type Fastify cannot parse with 400, not Fastify’s 415 (contract row 3)', async () => {
    const res = await revoke(mounted.url, '/auth/tokens/revoke', form({ token: 'x' }), {
      'content-type': 'not a media type',
    });
    assertError(res, 400, 'invalid_request');
  });
  it('answers such a Content-Type on a PUT with 405 first (contract order: row 1 before row 3)', async () => {
    const res = await send(mounted.url, {
      method: 'PUT',
      path: '/auth/tokens/revoke',
      headers: { 'content-type': 'not a media type' },
      body: 'token=x',
    });
    assertError(res, 405, 'invalid_request');
  });
  it('leaves formbody to the app’s own routes', async () => {
    const res = await revoke(mounted.url, '/echo', form({ a: '1' }));
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { a: '1' });
  });
  it('serves nothing at the default paths', async () => {
    const res = await revoke(mounted.url, '/oauth/revoke', form({ token: 'x' }));
    assert.equal(res.status, 404);
  });
});
