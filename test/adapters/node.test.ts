import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { fromNodeRequest, toNodeHandler, toNodeListener } from '../../src/adapters/node.js';
import type { Mounted } from '../support/endpoint-suite.js';
import { assertError, assertRevoked200, runEndpointSuite } from '../support/endpoint-suite.js';
import { form, send } from '../support/http-client.js';
import { assertJsonRefusal, onWire } from '../support/wire.js';
import { listen, revoke, type TestServer, testServer } from './support.js';

// Issue #4: the whole endpoint suite through the Fetch core served by revokit/node's
// toNodeListener: server.fetch as Bun, Deno or Workers call it. (toNodeHandler runs the
// suite in test/endpoint-node.test.ts.)
runEndpointSuite(
  'node:http: toNodeListener(server.fetch)',
  (server) => listen(createServer(toNodeListener(server.fetch))),
  { propertyRuns: 300 },
);

describe('node:http: toNodeHandler(server, { endpoint }) on a route of the app’s choosing (issue #4)', () => {
  let t: TestServer;
  let mounted: Mounted;
  before(async () => {
    t = await testServer();
    const revocation = toNodeHandler(t.server, { endpoint: 'revocation' });
    const http = createServer((req, res) => {
      if (req.url?.split('?')[0] === '/auth/tokens/revoke') revocation(req, res);
      else res.writeHead(404).end();
    });
    mounted = await listen(http);
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
});

describe('node:http: metadata without a configured issuer (RFC 8414 §3)', () => {
  let mounted: Mounted;
  before(async () => {
    const t = await testServer();
    mounted = await listen(createServer(toNodeHandler(t.server)));
  });
  after(() => mounted.close());

  it('a request target that is no URL answers 400 in JSON, never a 500 (contract: errors)', async () => {
    const answers = await onWire(mounted.url, [
      'GET http://[bad/.well-known/oauth-authorization-server HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    ]);
    assertJsonRefusal(answers[0], 400);
  });
  it('the issuer is the origin only: no user info from an absolute-form target', async () => {
    const answers = await onWire(mounted.url, [
      'GET http://user:pass@example.test:8443/.well-known/oauth-authorization-server HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    ]);
    assert.equal(answers[0]?.status, 200);
    const metadata = JSON.parse(answers[0]?.body ?? '') as { issuer: string };
    assert.equal(metadata.issuer, 'http://example.test:8443');
  });
});

describe('node:http: fromNodeRequest with a body read elsewhere (issue #4)', () => {
  let t: TestServer;
  let mounted: Mounted;
  before(async () => {
    t = await testServer();
    const http = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const response = await t.server.handle(
        'revocation',
        fromNodeRequest(req, Buffer.concat(chunks).toString()),
      );
      res.writeHead(response.status, response.headers).end(response.body);
    });
    mounted = await listen(http);
  });
  after(() => mounted.close());

  it('checks the given raw body: a repeated parameter is refused (contract row 5)', async () => {
    const grant = await t.grant();
    const body = form([
      ['token', grant.access],
      ['token', grant.refresh],
    ]);
    assertError(await revoke(mounted.url, '/', body), 400, 'invalid_request');
    assert.equal(await t.revoked(grant.access), false);
  });
  it('checks the given raw body: the size limit holds (contract row 2)', async () => {
    const body = `${form({ token: 'x' })}&pad=${'a'.repeat(70 * 1024)}`;
    assertError(await revoke(mounted.url, '/', body), 413, 'invalid_request');
  });
});

describe('node:http: toNodeListener writes a Fetch Response whole (issue #4)', () => {
  let mounted: Mounted;
  before(async () => {
    const http = createServer(
      toNodeListener(async (request, env) => {
        const url = new URL(request.url);
        if (url.pathname === '/cookies') {
          const headers = new Headers({ 'x-one': 'a' });
          headers.append('set-cookie', 'a=1');
          headers.append('set-cookie', 'b=2');
          return new Response('ok', { status: 201, headers });
        }
        if (url.pathname === '/stream') {
          const parts = ['one ', 'two ', 'three'];
          const body = new ReadableStream<Uint8Array>({
            pull(controller) {
              const part = parts.shift();
              if (part === undefined) controller.close();
              else controller.enqueue(new TextEncoder().encode(part));
            },
          });
          return new Response(body);
        }
        if (url.pathname === '/echo') {
          return Response.json({
            method: request.method,
            body: await request.text(),
            host: request.headers.get('host'),
            bindings: typeof env.incoming.readableDidRead === 'boolean',
          });
        }
        throw new Error('boom');
      }),
    );
    mounted = await listen(http);
  });
  after(() => mounted.close());

  it('keeps the status and every header, each Set-Cookie apart', async () => {
    const res = await send(mounted.url, { method: 'GET', path: '/cookies' });
    assert.equal(res.status, 201);
    assert.equal(res.headers['x-one'], 'a');
    assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(res.body, 'ok');
  });
  it('streams a body', async () => {
    const res = await send(mounted.url, { method: 'GET', path: '/stream' });
    assert.equal(res.body, 'one two three');
  });
  it('hands over the request body, the Host and the node bindings', async () => {
    const res = await send(mounted.url, { path: '/echo', body: 'a=1&a=2' });
    const body = res.json as Record<string, unknown>;
    assert.equal(body.method, 'POST');
    assert.equal(body.body, 'a=1&a=2');
    assert.match(String(body.host), /^127\.0\.0\.1:\d+$/);
    assert.equal(body.bindings, true);
  });
  it('answers a handler that throws with a bare 500 server_error', async () => {
    const res = await send(mounted.url, { method: 'GET', path: '/other' });
    assertError(res, 500, 'server_error');
  });
});
