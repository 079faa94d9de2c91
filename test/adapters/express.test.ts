import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { BodyAlreadyReadError } from '../../src/adapters/bridge.js';
import { endpoint, mount, routes } from '../../src/adapters/express.js';
import type { Mounted } from '../support/endpoint-suite.js';
import { assertError, assertRevoked200, runEndpointSuite } from '../support/endpoint-suite.js';
import { form, send } from '../support/http-client.js';
import { listen, revoke, type TestServer, testServer, warningsDuring } from './support.js';

// Issue #4: the whole endpoint suite through revokit/express, mounted as the docs say:
// revokit first, the app's body parser after it for the app's own routes.
runEndpointSuite('Express 5: app.use(routes(server)), express.urlencoded() after', (server) => {
  const app = express();
  app.use(routes(server));
  app.use(express.urlencoded());
  app.post('/echo', (req, res) => {
    res.json(req.body);
  });
  return listen(createServer(app));
});

// Issue #4, "parser already installed": express.urlencoded() first, then mount(), which puts
// revokit ahead of it, so every contract row holds through the suite.
runEndpointSuite(
  'Express 5: app.use(express.urlencoded()) first, then mount(app, server)',
  (server) => {
    const app = express();
    app.use(express.urlencoded());
    mount(app, server);
    app.post('/echo', (req, res) => {
      res.json(req.body);
    });
    return listen(createServer(app));
  },
);

describe('Express: mount() leaves express.urlencoded() to the app’s own routes (issue #4)', () => {
  it('the app’s route still gets its parsed body', async () => {
    const t = await testServer();
    const app = express();
    app.use(express.urlencoded());
    mount(app, t.server);
    app.post('/echo', (req, res) => {
      res.json(req.body);
    });
    const mounted = await listen(createServer(app));
    try {
      const res = await send(mounted.url, {
        path: '/echo',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'a=1&b=2',
      });
      assert.deepEqual(res.json, { a: '1', b: '2' });
    } finally {
      await mounted.close();
    }
  });
  it('refuses what is not an Express application', () => {
    assert.throws(() => mount({ use() {} }, {} as never), /needs an Express 4 or 5 application/);
  });
});

// Issue #4: one endpoint per route, the counterpart of Flask's @app.route.
runEndpointSuite(
  'Express 5: app.all(path, endpoint(server, name)) per endpoint',
  (server) => {
    const app = express();
    for (const [name, path] of Object.entries(server.options.paths)) {
      app.all(path, endpoint(server, name));
    }
    return listen(createServer(app));
  },
  { propertyRuns: 300 },
);

describe('Express: one endpoint on a route of the app’s choosing (issue #4)', () => {
  let t: TestServer;
  let mounted: Mounted;
  before(async () => {
    t = await testServer();
    const app = express();
    const router = express.Router();
    router.all('/tokens/revoke', endpoint(t.server, 'revocation'));
    app.use('/auth', router);
    mounted = await listen(createServer(app));
  });
  after(() => mounted.close());

  it('revokes at /auth/tokens/revoke (RFC 7009 §2.1)', async () => {
    const grant = await t.grant();
    assertRevoked200(
      await revoke(mounted.url, '/auth/tokens/revoke', form({ token: grant.access })),
    );
    assert.equal(await t.revoked(grant.access), true);
  });
  it('answers GET there with 405 and Allow: POST (contract row 1)', async () => {
    const res = await send(mounted.url, { method: 'GET', path: '/auth/tokens/revoke' });
    assertError(res, 405, 'invalid_request');
    assert.equal(res.headers.allow, 'POST');
  });
  it('still sees the query string under a mount prefix (contract row 4)', async () => {
    const grant = await t.grant();
    const res = await revoke(
      mounted.url,
      `/auth/tokens/revoke?token=${grant.access}`,
      form({ token: grant.access }),
    );
    assertError(res, 400, 'invalid_request');
    assert.equal(await t.revoked(grant.access), false);
  });
  it('serves nothing at the default paths', async () => {
    const res = await revoke(mounted.url, '/oauth/revoke', form({ token: 'x' }));
    assert.equal(res.status, 404);
  });
});

describe('Express: the app’s own routes keep their body parser (issue #4)', () => {
  let mounted: Mounted;
  before(async () => {
    const t = await testServer();
    const app = express();
    app.use(routes(t.server));
    app.use(express.urlencoded());
    app.post('/echo', (req, res) => {
      res.json(req.body);
    });
    mounted = await listen(createServer(app));
  });
  after(() => mounted.close());

  it('a route after revokit gets its parsed body', async () => {
    const res = await revoke(mounted.url, '/echo', form({ a: '1' }));
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { a: '1' });
  });
});

describe('Express: express.urlencoded() installed before revokit is refused, never trusted (issue #4, contract row 5)', () => {
  let t: TestServer;
  let mounted: Mounted;
  before(async () => {
    t = await testServer();
    const app = express();
    app.use(express.urlencoded());
    app.use(express.json());
    app.use(routes(t.server));
    mounted = await listen(createServer(app));
  });
  after(() => mounted.close());

  it('a valid revocation answers a bare 500 server_error and revokes nothing, with a warning that says how to mount', async () => {
    const grant = await t.grant();
    const warnings = await warningsDuring(async () => {
      const res = await revoke(mounted.url, '/oauth/revoke', form({ token: grant.refresh }));
      assertError(res, 500, 'server_error');
    });
    assert.equal(await t.revoked(grant.refresh), false);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.name, 'RevokitWarning');
    assert.match(
      String(warnings[0]?.message),
      /express\.urlencoded\(\) ran first\. Mount revokit before it/,
    );
    const error = t.errors.at(-1)?.error;
    assert.ok(error instanceof BodyAlreadyReadError);
    assert.equal(error.message, warnings[0]?.message);
  });
  it('a repeated token is never accepted from the merged parsed body (RFC 6749 §3.2)', async () => {
    const grant = await t.grant();
    const warnings = await warningsDuring(async () => {
      const body = form([
        ['token', grant.refresh],
        ['token', grant.access],
      ]);
      assertError(await revoke(mounted.url, '/oauth/revoke', body), 500, 'server_error');
    });
    assert.equal(await t.revoked(grant.refresh), false);
    assert.equal(await t.revoked(grant.access), false);
    assert.equal(warnings.length, 0, 'the warning is given once per process');
  });
  it('a body the contract refuses by its content type is still answered exactly (contract row 3)', async () => {
    const res = await revoke(mounted.url, '/oauth/revoke', '{"token":"x"}', {
      'content-type': 'application/json',
    });
    assertError(res, 400, 'invalid_request');
  });
  it('a method other than POST is still answered exactly (contract row 1)', async () => {
    const res = await send(mounted.url, { method: 'GET', path: '/oauth/revoke' });
    assertError(res, 405, 'invalid_request');
  });
});
