import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Hono } from 'hono';
import { BodyAlreadyReadError } from '../../src/adapters/bridge.js';
import { endpoint, routes } from '../../src/adapters/hono.js';
import { toNodeListener } from '../../src/adapters/node.js';
import type { Mounted } from '../support/endpoint-suite.js';
import { assertError, assertRevoked200, runEndpointSuite } from '../support/endpoint-suite.js';
import { form } from '../support/http-client.js';
import {
  describeCustomRoute,
  listen,
  revoke,
  type TestServer,
  testServer,
  warningsDuring,
} from './support.js';

// Issue #4: the whole endpoint suite through revokit/hono on node:http, with the node
// bindings (`c.env.incoming`) that @hono/node-server and toNodeListener both hand over.
runEndpointSuite('Hono 4 on node:http: app.use(routes(server))', (server) => {
  const app = new Hono();
  app.use(routes(server));
  return listen(createServer(toNodeListener(app.fetch)));
});

// Issue #4: one endpoint per route, the counterpart of Flask's @app.route.
runEndpointSuite(
  'Hono 4 on node:http: app.all(path, endpoint(server, name)) per endpoint',
  (server) => {
    const app = new Hono();
    for (const [name, path] of Object.entries(server.options.paths)) {
      app.all(path, endpoint(server, name));
    }
    return listen(createServer(toNodeListener(app.fetch)));
  },
  { propertyRuns: 300 },
);

// Issue #4: Hono as on Bun, Deno or Workers: no node bindings, the body read from the
// Fetch Request's stream.
runEndpointSuite(
  'Hono 4, Fetch only (as on Bun, Deno, Workers): app.use(routes(server))',
  (server) => {
    const app = new Hono();
    app.use(routes(server));
    return listen(createServer(toNodeListener((request) => app.fetch(request))));
  },
  { propertyRuns: 300 },
);

describeCustomRoute('Hono', (server) => {
  const app = new Hono();
  app.all('/auth/tokens/revoke', endpoint(server, 'revocation'));
  return listen(createServer(toNodeListener(app.fetch)));
});

for (const bindings of [true, false]) {
  const label = bindings ? 'on node bindings' : 'Fetch only';
  describe(`Hono (${label}): a middleware that read the body before revokit (issue #4)`, () => {
    let t: TestServer;
    let mounted: Mounted;
    before(async () => {
      t = await testServer();
      const app = new Hono();
      app.use('/text/*', async (c, next) => {
        await c.req.text();
        await next();
      });
      app.use('/parsed/*', async (c, next) => {
        await c.req.parseBody();
        await next();
      });
      app.use('/form-data/*', async (c, next) => {
        await c.req.formData();
        await next();
      });
      app.all('/text/revoke', endpoint(t.server, 'revocation'));
      app.all('/parsed/revoke', endpoint(t.server, 'revocation'));
      app.all('/form-data/revoke', endpoint(t.server, 'revocation'));
      const fetch = bindings ? app.fetch : (request: Request) => app.fetch(request);
      mounted = await listen(createServer(toNodeListener(fetch)));
    });
    after(() => mounted.close());

    it('c.req.text() keeps the raw body: a revocation works (RFC 7009 §2.1)', async () => {
      const grant = await t.grant();
      assertRevoked200(await revoke(mounted.url, '/text/revoke', form({ token: grant.access })));
      assert.equal(await t.revoked(grant.access), true);
    });
    it('c.req.text() keeps the raw body: a repeated parameter is refused (contract row 5)', async () => {
      const grant = await t.grant();
      const body = form([
        ['token', grant.refresh],
        ['token', grant.access],
      ]);
      assertError(await revoke(mounted.url, '/text/revoke', body), 400, 'invalid_request');
      assert.equal(await t.revoked(grant.refresh), false);
    });
    it('c.req.text() keeps the raw body: the size limit still holds (contract row 2)', async () => {
      const grant = await t.grant();
      const body = `${form({ token: grant.refresh })}&pad=${'a'.repeat(70 * 1024)}`;
      assertError(await revoke(mounted.url, '/text/revoke', body), 413, 'invalid_request');
      assert.equal(await t.revoked(grant.refresh), false);
    });
    it('c.req.parseBody() keeps the raw body too: a repeated parameter is refused (contract row 5)', async () => {
      const grant = await t.grant();
      const body = form([
        ['token', grant.refresh],
        ['token', grant.access],
      ]);
      assertError(await revoke(mounted.url, '/parsed/revoke', body), 400, 'invalid_request');
      assert.equal(await t.revoked(grant.refresh), false);
    });
    it('c.req.formData() keeps no raw body: refused with a bare 500, nothing revoked', async () => {
      const grant = await t.grant();
      const warnings = await warningsDuring(async () => {
        const body = form([
          ['token', grant.refresh],
          ['token', grant.access],
        ]);
        assertError(await revoke(mounted.url, '/form-data/revoke', body), 500, 'server_error');
      });
      assert.equal(await t.revoked(grant.refresh), false);
      assert.ok(t.errors.at(-1)?.error instanceof BodyAlreadyReadError);
      // Warned once per process: the first of the two describe blocks sees it.
      if (bindings) assert.match(String(warnings[0]?.message), /c\.req\.formData\(\)/);
      else assert.equal(warnings.length, 0);
    });
  });
}
