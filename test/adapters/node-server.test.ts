import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  answerClientError,
  createNodeServer,
  type NodeRefusal,
  toNodeHandler,
} from '../../src/adapters/node.js';
import type { Mounted } from '../support/endpoint-suite.js';
import { SECRETS } from '../support/fixtures.js';
import { basic, FORM, form } from '../support/http-client.js';
import { assertJsonRefusal, onWire } from '../support/wire.js';
import { listen, type TestServer, testServer } from './support.js';

const APP = basic('app', SECRETS.app);

function revocation(token: string, extraHeaders = '', body = form({ token })): string {
  return `POST /oauth/revoke HTTP/1.1\r\nHost: x\r\nAuthorization: ${APP}\r\nContent-Type: ${FORM}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extraHeaders}\r\n${body}`;
}

describe('node:http: createNodeServer answers what Node would answer itself in RFC 6749 §5.2 JSON (contract: errors)', () => {
  let t: TestServer;
  let mounted: Mounted;
  const refusals: NodeRefusal[] = [];
  before(async () => {
    t = await testServer();
    mounted = await listen(
      createNodeServer(t.server, {
        http: { headersTimeout: 300, requestTimeout: 400, connectionsCheckingInterval: 50 },
        onRefused: (refusal) => refusals.push(refusal),
      }),
    );
  });
  after(() => mounted.close());

  it('a valid request followed by bad bytes on the connection gets its 200 first, then the 400 (RFC 9112 §9.3.2)', async () => {
    const grant = await t.grant();
    // The body is one byte longer than its Content-Length: the byte starts a request.
    const answers = await onWire(mounted.url, [`${revocation(grant.access)}X`]);
    assert.equal(answers.length, 2, JSON.stringify(answers));
    assert.equal(answers[0]?.status, 200);
    assert.equal(answers[0]?.body, '{}');
    assert.equal(await t.revoked(grant.access), true);
    assertJsonRefusal(answers[1], 400);
    assert.equal(answers[1]?.headers.connection, 'close');
  });

  it('two pipelined requests and a malformed one: both answered in order, then the 400', async () => {
    const first = await t.grant();
    const second = await t.grant();
    const answers = await onWire(mounted.url, [
      `${revocation(first.access)}${revocation(second.access)}GARBAGE\r\n\r\n`,
    ]);
    assert.deepEqual(
      answers.map((answer) => answer.status),
      [200, 200, 400],
    );
    assert.equal(await t.revoked(first.access), true);
    assert.equal(await t.revoked(second.access), true);
  });

  it('a valid request, then one whose body has a malformed chunk, pipelined: 200, then 400, then the connection closes', async () => {
    const grant = await t.grant();
    const answers = await onWire(mounted.url, [
      `${revocation(grant.access)}POST /oauth/revoke HTTP/1.1\r\nHost: x\r\nAuthorization: ${APP}\r\nContent-Type: ${FORM}\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n`,
    ]);
    assert.deepEqual(
      answers.map((answer) => answer.status),
      [200, 400],
    );
    assertJsonRefusal(answers[1], 400);
    assert.equal(await t.revoked(grant.access), true);
  });

  it('Expect: 100-continue without Host gets the 400, never a 100', async () => {
    const head = `POST /oauth/revoke HTTP/1.1\r\nAuthorization: ${APP}\r\nContent-Type: ${FORM}\r\nExpect: 100-continue\r\nContent-Length: 7\r\n\r\n`;
    const answers = await onWire(mounted.url, [head]);
    assert.deepEqual(
      answers.map((answer) => answer.status),
      [400],
    );
  });

  it('a body that stops arriving answers 408 in JSON once requestTimeout passes, revoking nothing', async () => {
    const grant = await t.grant();
    const body = form({ token: grant.access });
    const partial = `POST /oauth/revoke HTTP/1.1\r\nHost: x\r\nAuthorization: ${APP}\r\nContent-Type: ${FORM}\r\nContent-Length: ${body.length + 10}\r\n\r\n${body}`;
    const answers = await onWire(mounted.url, [partial]);
    assert.equal(answers.length, 1);
    assertJsonRefusal(answers[0], 408);
    assert.equal(await t.revoked(grant.access), false);
    assert.ok(refusals.some((refusal) => refusal.status === 408));
  });

  it('a malformed chunk inside the body answers 400 in JSON, revoking nothing', async () => {
    const grant = await t.grant();
    const answers = await onWire(mounted.url, [
      `POST /oauth/revoke HTTP/1.1\r\nHost: x\r\nAuthorization: ${APP}\r\nContent-Type: ${FORM}\r\nTransfer-Encoding: chunked\r\n\r\n`,
      `zz\r\n${form({ token: grant.access })}\r\n0\r\n\r\n`,
    ]);
    assert.equal(answers.length, 1);
    assertJsonRefusal(answers[0], 400);
    assert.equal(await t.revoked(grant.access), false);
  });

  it('an HTTP/1.1 request without Host answers 400 in JSON, revoking nothing (RFC 9112 §3.2)', async () => {
    const grant = await t.grant();
    const request = revocation(grant.access).replace('Host: x\r\n', '');
    const answers = await onWire(mounted.url, [request]);
    assertJsonRefusal(answers[0], 400);
    assert.match(answers[0]?.body ?? '', /Host/);
    assert.equal(await t.revoked(grant.access), false);
  });

  it('two Host headers answer 400 in JSON, revoking nothing (RFC 9112 §3.2)', async () => {
    const grant = await t.grant();
    const request = revocation(grant.access).replace('Host: x\r\n', 'Host: x\r\nHost: y\r\n');
    const answers = await onWire(mounted.url, [request]);
    assertJsonRefusal(answers[0], 400);
    assert.equal(await t.revoked(grant.access), false);
  });

  it('an HTTP/2.0 or HTTP/0.9 request line answers 505 in JSON, revoking nothing (RFC 9110 §15.6.6)', async () => {
    for (const version of ['HTTP/2.0', 'HTTP/0.9']) {
      const grant = await t.grant();
      const before = refusals.length;
      const request = revocation(grant.access).replace('HTTP/1.1', version);
      const answers = await onWire(mounted.url, [request]);
      assertJsonRefusal(answers[0], 505);
      assert.equal(answers[0]?.headers.connection, 'close', version);
      assert.deepEqual(refusals.slice(before), [
        { status: 505, reason: 'the HTTP version must be 1.0 or 1.1' },
      ]);
      assert.equal(await t.revoked(grant.access), false, version);
    }
  });

  it('an HTTP/1.0 request is served (RFC 9112 §2.3)', async () => {
    const grant = await t.grant();
    const answers = await onWire(mounted.url, [
      revocation(grant.access).replace('HTTP/1.1', 'HTTP/1.0'),
    ]);
    assert.equal(answers[0]?.status, 200);
    assert.equal(await t.revoked(grant.access), true);
  });

  it('Expect: 100-continue on an HTTP/2.0 request line or with two Host headers gets the refusal, never a 100', async () => {
    const head = (version: string, host: string) =>
      `POST /oauth/revoke ${version}\r\n${host}Authorization: ${APP}\r\nContent-Type: ${FORM}\r\nExpect: 100-continue\r\nContent-Length: 7\r\n\r\n`;
    for (const [request, status] of [
      [head('HTTP/2.0', 'Host: x\r\n'), 505],
      [head('HTTP/1.1', 'Host: x\r\nHost: y\r\n'), 400],
    ] as const) {
      const answers = await onWire(mounted.url, [request]);
      assert.deepEqual(
        answers.map((answer) => answer.status),
        [status],
      );
    }
  });

  it('a 1.1 request line ending in a bare LF, or with a space after the version, answers 400, not 505 (audit)', async () => {
    for (const line of [
      'POST /oauth/revoke HTTP/1.1\nHost: x\n\n',
      'POST /oauth/revoke HTTP/1.1 \r\nHost: x\r\n\r\n',
    ]) {
      const answers = await onWire(mounted.url, [line]);
      assertJsonRefusal(answers[0], 400);
    }
  });

  it('CONNECT answers 405 in JSON instead of a bare close', async () => {
    const answers = await onWire(mounted.url, [
      'CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n',
    ]);
    assertJsonRefusal(answers[0], 405);
  });

  it('an Expect value other than 100-continue answers 417 in JSON, revoking nothing (RFC 9110 §10.1.1)', async () => {
    const grant = await t.grant();
    const answers = await onWire(mounted.url, [revocation(grant.access, 'Expect: 200-ok\r\n')]);
    assertJsonRefusal(answers[0], 417);
    assert.equal(await t.revoked(grant.access), false);
  });

  it('Expect: 100-continue with a body declared over the limit gets the 413 at once, never a 100 (row 2)', async () => {
    const grant = await t.grant();
    const head = `POST /oauth/revoke HTTP/1.1\r\nHost: x\r\nAuthorization: ${APP}\r\nContent-Type: ${FORM}\r\nExpect: 100-continue\r\nContent-Length: 999999\r\n\r\n`;
    const answers = await onWire(mounted.url, [head]);
    assert.equal(answers.length, 1, JSON.stringify(answers));
    assert.equal(answers[0]?.status, 413);
    assert.equal(await t.revoked(grant.access), false);
  });

  it('Expect: 100-continue with a body within the limit gets the 100, then the revocation (RFC 9110 §10.1.1)', async () => {
    const grant = await t.grant();
    const body = form({ token: grant.access });
    const head = `POST /oauth/revoke HTTP/1.1\r\nHost: x\r\nAuthorization: ${APP}\r\nContent-Type: ${FORM}\r\nExpect: 100-continue\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n`;
    const answers = await onWire(mounted.url, [head, body]);
    assert.deepEqual(
      answers.map((answer) => answer.status),
      [100, 200],
    );
    assert.equal(await t.revoked(grant.access), true);
  });

  it('a client that resets its connection mid-body is not reported as a refused request, and revokes nothing (audit: an abort is not a malformed request)', async () => {
    const grant = await t.grant();
    const before = refusals.length;
    const socket = connect(Number(new URL(mounted.url).port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const whole = revocation(grant.access);
    socket.write(whole.slice(0, whole.length - 5));
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.resetAndDestroy();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(refusals.slice(before), [], 'no refusal was reported');
    assert.equal(await t.revoked(grant.access), false);
  });

  it('a request line Node cannot parse answers 400 in JSON and is told to onRefused', async () => {
    const before = refusals.length;
    const answers = await onWire(mounted.url, ['GARBAGE\r\n\r\n']);
    assertJsonRefusal(answers[0], 400);
    assert.deepEqual(refusals.slice(before), [{ status: 400, reason: 'malformed HTTP request' }]);
  });
});

describe('node:http: a CORS preflight never drains a body (contract: row 2)', () => {
  let t: TestServer;
  let mounted: Mounted;
  before(async () => {
    t = await testServer({ cors: { origins: ['https://app.example'] } });
    mounted = await listen(createNodeServer(t.server));
  });
  after(() => mounted.close());

  it('an OPTIONS with a body still coming gets its 204 and the connection closes (audit: 2 GiB were read)', async () => {
    const head = `OPTIONS /oauth/revoke HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\nAccess-Control-Request-Method: POST\r\nContent-Length: 10000000\r\n\r\npartial`;
    const answers = await onWire(mounted.url, [head]);
    assert.deepEqual(
      answers.map((answer) => answer.status),
      [204],
    );
    assert.equal(answers[0]?.headers.connection, 'close');
  });
});

for (const [label, make] of [
  ['createNodeServer', (t: TestServer) => createNodeServer(t.server)],
  [
    'createServer(toNodeHandler) with answerClientError',
    (t: TestServer) => createServer(toNodeHandler(t.server)).on('clientError', answerClientError),
  ],
] as const) {
  describe(`node:http (${label}): no request runs after an answer that closes the connection (RFC 9112 §9.6)`, () => {
    let t: TestServer;
    let mounted: Mounted;
    before(async () => {
      t = await testServer();
      mounted = await listen(make(t));
    });
    after(() => mounted.close());

    it('a revocation pipelined behind a 405 answered before its body arrived is not run (audit: it was run, its answer never sent)', async () => {
      const grant = await t.grant();
      const answers = await onWire(mounted.url, [
        'GET /oauth/revoke HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n',
        `abcde${revocation(grant.access)}`,
      ]);
      assert.deepEqual(
        answers.map((answer) => answer.status),
        [405],
      );
      assert.equal(answers[0]?.headers.connection, 'close');
      assert.equal(await t.revoked(grant.access), false, 'the pipelined request was run');
    });

    it('a revocation pipelined behind a 413 in the same packet is not run (row 2)', async () => {
      const first = await t.grant();
      const second = await t.grant();
      const big = `${form({ token: first.access })}&pad=${'a'.repeat(70 * 1024)}`;
      const chunked = `POST /oauth/revoke HTTP/1.1\r\nHost: x\r\nAuthorization: ${APP}\r\nContent-Type: ${FORM}\r\nTransfer-Encoding: chunked\r\n\r\n${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`;
      const answers = await onWire(mounted.url, [`${chunked}${revocation(second.access)}`]);
      assert.deepEqual(
        answers.map((answer) => answer.status),
        [413],
      );
      assert.equal(await t.revoked(first.access), false);
      assert.equal(await t.revoked(second.access), false, 'the pipelined request was run');
    });

    it('a request sent with Connection: close is answered, and the one pipelined behind it is not run', async () => {
      const first = await t.grant();
      const second = await t.grant();
      const answers = await onWire(mounted.url, [
        `${revocation(first.access, 'Connection: close\r\n')}${revocation(second.access)}`,
      ]);
      assert.deepEqual(
        answers.map((answer) => answer.status),
        [200],
      );
      assert.equal(await t.revoked(first.access), true);
      assert.equal(await t.revoked(second.access), false, 'the pipelined request was run');
    });

    it('pipelined requests on a connection kept alive are each run and answered in order, bodiless ones too', async () => {
      const grants = [await t.grant(), await t.grant(), await t.grant()];
      // A GET has no body to read: it is complete at once, and the requests behind it wait.
      const get = 'GET /oauth/revoke HTTP/1.1\r\nHost: x\r\n\r\n';
      const answers = await onWire(mounted.url, [
        `${get}${revocation(grants[0]!.access)}${get}${revocation(grants[1]!.access)}${revocation(grants[2]!.access, 'Connection: close\r\n')}`,
      ]);
      assert.deepEqual(
        answers.map((answer) => answer.status),
        [405, 200, 405, 200, 200],
      );
      for (const grant of grants) assert.equal(await t.revoked(grant.access), true);
    });
  });
}
