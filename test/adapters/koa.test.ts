import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { text } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { bodyParser } from '@koa/bodyparser';
import Koa from 'koa';
import { BodyAlreadyReadError } from '../../src/adapters/bridge.js';
import { endpoint, mount, routes } from '../../src/adapters/koa.js';
import type { Mounted } from '../support/endpoint-suite.js';
import { assertError, assertRevoked200, runEndpointSuite } from '../support/endpoint-suite.js';
import { form } from '../support/http-client.js';
import { onWire } from '../support/wire.js';
import {
  describeCustomRoute,
  listen,
  revoke,
  type TestServer,
  testServer,
  warningsDuring,
} from './support.js';

// Issue #4: the whole endpoint suite through revokit/koa's routes middleware.
runEndpointSuite('Koa 3: app.use(routes(server))', (server) => {
  const app = new Koa();
  app.use(routes(server));
  return listen(createServer(app.callback()));
});

// Issue #4: again with @koa/bodyparser installed before revokit. mount() makes it skip
// revokit's paths, so every row holds, the size limit included.
runEndpointSuite(
  'Koa 3: app.use(bodyParser()) first, then mount(app, server)',
  (server) => {
    const app = new Koa();
    app.use(bodyParser());
    mount(app, server);
    return listen(createServer(app.callback()));
  },
  { propertyRuns: 300 },
);

describeCustomRoute('Koa', (server) => {
  const app = new Koa();
  const revocation = endpoint(server, 'revocation');
  app.use((ctx, next) => (ctx.path === '/auth/tokens/revoke' ? revocation(ctx, next) : next()));
  return listen(createServer(app.callback()));
});

describe('Koa: mount() leaves @koa/bodyparser to the app’s own routes (issue #4)', () => {
  let mounted: Mounted;
  before(async () => {
    const t = await testServer();
    const app = new Koa();
    app.use(bodyParser());
    mount(app, t.server);
    app.use((ctx) => {
      ctx.body = { parsed: ctx.request.body, skipped: ctx.disableBodyParser ?? false };
    });
    mounted = await listen(createServer(app.callback()));
  });
  after(() => mounted.close());

  it('a route of the app still gets its parsed body', async () => {
    const res = await revoke(mounted.url, '/echo', form({ a: '1' }));
    assert.deepEqual(res.json, { parsed: { a: '1' }, skipped: false });
  });

  it('a request target Koa cannot parse is left to the app, never a 500 from revokit (contract: errors)', async () => {
    // Koa's ctx.path throws on it; mount()'s getter and routes() both read the path.
    const answers = await onWire(mounted.url, [
      'GET http://[bad/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    ]);
    assert.equal(answers[0]?.status, 200, JSON.stringify(answers));
    assert.deepEqual(JSON.parse(answers[0]?.body ?? ''), { skipped: false });
  });
});

describe('Koa: routes() after @koa/bodyparser, without mount(): the kept raw body (issue #4)', () => {
  let t: TestServer;
  let mounted: Mounted;
  before(async () => {
    t = await testServer();
    const app = new Koa();
    app.use(bodyParser());
    app.use(routes(t.server));
    mounted = await listen(createServer(app.callback()));
  });
  after(() => mounted.close());

  it('revokes from ctx.request.rawBody (RFC 7009 §2.1)', async () => {
    const grant = await t.grant();
    assertRevoked200(await revoke(mounted.url, '/oauth/revoke', form({ token: grant.access })));
    assert.equal(await t.revoked(grant.access), true);
  });
  it('refuses a repeated parameter the parser merged (contract row 5, RFC 6749 §3.2)', async () => {
    const grant = await t.grant();
    const body = form([
      ['token', grant.refresh],
      ['token', grant.access],
    ]);
    assertError(await revoke(mounted.url, '/oauth/revoke', body), 400, 'invalid_request');
    assert.equal(await t.revoked(grant.refresh), false);
  });
  it('refuses a JSON body the parser accepted (contract row 3)', async () => {
    const res = await revoke(mounted.url, '/oauth/revoke', '{"token":"x"}', {
      'content-type': 'application/json',
    });
    assertError(res, 400, 'invalid_request');
  });
  it('leaves a body over the parser’s own formLimit (56 KiB) to the parser: 413, not JSON — the documented gap mount() closes (contract row 2)', async () => {
    const grant = await t.grant();
    const body = `${form({ token: grant.refresh })}&pad=${'a'.repeat(60 * 1024)}`;
    const res = await revoke(mounted.url, '/oauth/revoke', body);
    assert.equal(res.status, 413);
    assert.equal(res.json, undefined);
    assert.equal(await t.revoked(grant.refresh), false);
  });
});

describe('Koa: a parser that keeps no raw body, before revokit, is refused (issue #4, contract row 5)', () => {
  let t: TestServer;
  let mounted: Mounted;
  before(async () => {
    t = await testServer();
    const app = new Koa();
    // What koa-body does by default: the body parsed, the raw text dropped.
    app.use(async (ctx, next) => {
      if (ctx.method === 'POST') {
        (ctx.request as { body?: unknown }).body = Object.fromEntries(
          new URLSearchParams(await text(ctx.req)),
        );
      }
      await next();
    });
    app.use(routes(t.server));
    mounted = await listen(createServer(app.callback()));
  });
  after(() => mounted.close());

  it('answers a bare 500 server_error, revokes nothing, and warns how to mount', async () => {
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
    assert.match(String(warnings[0]?.message), /use mount\(app, server\)/);
    assert.ok(t.errors.at(-1)?.error instanceof BodyAlreadyReadError);
  });
});
