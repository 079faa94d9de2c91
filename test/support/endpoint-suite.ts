import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { clientFromMetadata } from '../../src/client-auth/client.js';
import type { WritableClientStore } from '../../src/client-auth/client-store.js';
import { MemoryClientStore } from '../../src/client-auth/client-store.js';
import { createRevocationEndpoint } from '../../src/rfc7009/create-revocation-endpoint.js';
import type { RevocationEndpointOptions } from '../../src/rfc7009/revocation-endpoint.js';
import { createIntrospectionEndpoint } from '../../src/rfc7662/create-introspection-endpoint.js';
import type { IntrospectionEndpointOptions } from '../../src/rfc7662/introspection-endpoint.js';
import {
  AuthorizationServer,
  type AuthorizationServerOptions,
} from '../../src/server/authorization-server.js';
import type { RevokedEvent } from '../../src/server/events.js';
import { MemoryTokenStore } from '../../src/stores/memory/memory-token-store.js';
import type { TokenStore } from '../../src/stores/token-store.js';
import {
  CLIENTS,
  FlakyStore,
  type Grant,
  type IssueOptions,
  isRevoked,
  issueGrant,
  SECRETS,
} from './fixtures.js';
import { basic, FORM, form, type RawRequest, type RawResponse, send } from './http-client.js';
import { onWire } from './wire.js';

/** A server mounted on real HTTP by an adapter under test. */
export interface Mounted {
  /** Base URL, such as `http://127.0.0.1:43123`. */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the server's revocation, introspection and metadata endpoints at their default
 * paths (`server.options.paths`) over real HTTP on loopback.
 */
export type Mount = (server: AuthorizationServer) => Promise<Mounted>;

/** Stores the suite runs over. */
export interface SuiteStores {
  tokens: TokenStore;
  clients?: WritableClientStore;
  close?(): Promise<void>;
}

/** Options of {@link runEndpointSuite}. */
export interface EndpointSuiteOptions {
  /** Builds the stores for one server; default: memory stores. */
  createStores?: () => Promise<SuiteStores>;
  /** Property-based runs per property (default: env REVOKIT_PROPERTY_RUNS or 1000). */
  propertyRuns?: number;
}

/** Server configurations the suite needs. */
type Config = {
  server?: Omit<AuthorizationServerOptions, 'clients'>;
  revocation?: RevocationEndpointOptions;
  introspection?: IntrospectionEndpointOptions;
};

const CONFIGS = {
  default: {},
  cors: { server: { cors: { origins: ['https://app.example'] } } },
  ignoreForeign: { revocation: { foreignToken: 'ignore' } },
  withRefresh: { revocation: { revokeRefreshWithAccess: true } },
  refreshOnly: { revocation: { tokenTypes: ['refresh_token'] } },
  publicIntrospection: { introspection: { publicClients: 'own-tokens' } },
} satisfies Record<string, Config>;

type ConfigName = keyof typeof CONFIGS;

/** One mounted server and the state behind it. */
export interface Env {
  url: string;
  store: FlakyStore;
  clients: WritableClientStore & { failing: boolean };
  events: RevokedEvent[];
  grant(clientId?: string, options?: IssueOptions): Promise<Grant>;
  revoked(token: string): Promise<boolean>;
  send(req: RawRequest): Promise<RawResponse>;
  /** POST to the revocation endpoint as `app` (Basic), unless headers say otherwise. */
  revoke(
    body: string,
    headers?: Record<string, string | string[]>,
    path?: string,
  ): Promise<RawResponse>;
  introspect(body: string, headers?: Record<string, string>): Promise<RawResponse>;
  close(): Promise<void>;
}

const REVOKE = '/oauth/revoke';
const INTROSPECT = '/oauth/introspect';
const METADATA = '/.well-known/oauth-authorization-server';
const APP = basic('app', SECRETS.app);
/** `app`'s credentials with its id encoded as `ap%70`: the same client, base64 with padding. */
const APP_PADDED = `Basic ${Buffer.from(`ap%70:${form({ s: SECRETS.app }).slice(2)}`).toString('base64')}`;

/**
 * The same bytes in base64 no encoder writes: the last character before `=` with a bit set
 * that the padding drops, as `atob` still decodes it (audit finding).
 */
function withPaddingBits(header: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const at = header.search(/=+$/) - 1;
  const next = alphabet[alphabet.indexOf(header[at] ?? '') + 1] ?? '';
  const changed = header.slice(0, at) + next + header.slice(at + 1);
  assert.equal(atob(changed.slice(6)), atob(header.slice(6)), 'the same bytes');
  assert.notEqual(changed, header);
  return changed;
}

async function startEnv(mount: Mount, config: Config, options: EndpointSuiteOptions): Promise<Env> {
  const stores: SuiteStores = options.createStores
    ? await options.createStores()
    : { tokens: new MemoryTokenStore() };
  const innerClients = stores.clients ?? new MemoryClientStore();
  for (const metadata of CLIENTS) await innerClients.saveClient(await clientFromMetadata(metadata));
  const clients = {
    failing: false,
    async getClient(id: string) {
      if (clients.failing) throw new Error('client storage is down (test)');
      return innerClients.getClient(id);
    },
    saveClient: (client: Parameters<WritableClientStore['saveClient']>[0]) =>
      innerClients.saveClient(client),
  };
  const store = new FlakyStore(stores.tokens);
  const server = new AuthorizationServer({ clients, storeTimeout: 300, ...config.server });
  server.registerEndpoint(createRevocationEndpoint(store, config.revocation));
  server.registerEndpoint(
    createIntrospectionEndpoint(store, {
      foreignTokens: 'resource-servers',
      ...config.introspection,
    }),
  );
  const events: RevokedEvent[] = [];
  server.on('revoked', (event) => events.push(event));
  const mounted = await mount(server);
  const post = (path: string, body: string, headers: Record<string, string | string[]> = {}) =>
    send(mounted.url, {
      path,
      body,
      headers: { 'content-type': FORM, authorization: APP, ...headers },
    });
  return {
    url: mounted.url,
    store,
    clients,
    events,
    grant: (clientId = 'app', issue) => issueGrant(store.inner, clientId, issue),
    revoked: (token) => isRevoked(store.inner, token),
    send: (req) => send(mounted.url, req),
    revoke: (body, headers, path = REVOKE) => post(path, body, headers),
    introspect: (body, headers) => post(INTROSPECT, body, headers),
    async close() {
      await mounted.close();
      await stores.close?.();
    },
  };
}

/**
 * Sends a request to the revocation endpoint whose body is never finished, and reads the
 * answer the server gives meanwhile: a timeout means it waited for the rest.
 */
async function sendUnfinished(
  base: string,
  method: string,
  headers: Record<string, string>,
  chunks: readonly string[],
): Promise<RawResponse> {
  const { request } = await import('node:http');
  return new Promise<RawResponse>((resolve, reject) => {
    const req = request(new URL(REVOKE, base), { method, headers, timeout: 5000 });
    req.on('response', (r) => {
      let body = '';
      r.on('data', (c: Buffer) => {
        body += c.toString();
      });
      r.on('end', () => {
        req.destroy();
        resolve({ status: r.statusCode ?? 0, headers: r.headers, body, json: JSON.parse(body) });
      });
    });
    req.on('timeout', () => reject(new Error('the server waited for the rest of the body')));
    req.on('error', () => {});
    for (const chunk of chunks) req.write(chunk);
  });
}

/** Asserts the headers every answer carries (contract, "Every answer…"). */
export function assertNoStore(res: RawResponse): void {
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.equal(res.headers.pragma, 'no-cache');
}

/** Asserts an RFC 6749 §5.2 error answer. */
export function assertError(res: RawResponse, status: number, error: string): void {
  assert.equal(res.status, status, `expected ${status} ${error}, got ${res.status} ${res.body}`);
  assertNoStore(res);
  assert.equal(typeof res.json, 'object', `error body is not JSON: ${res.body}`);
  const body = res.json as Record<string, unknown>;
  assert.equal(body.error, error);
  for (const key of Object.keys(body))
    assert.ok(['error', 'error_description', 'error_uri'].includes(key));
  assert.doesNotMatch(res.body, /\bat .+:\d+:\d+/, 'a stack trace leaked');
}

/** Asserts RFC 7009 §2.2's success answer: 200 with `{}`. */
export function assertRevoked200(res: RawResponse): void {
  assert.equal(res.status, 200, `expected 200, got ${res.status} ${res.body}`);
  assertNoStore(res);
  assert.deepEqual(res.json, {});
}

async function assertIntact(env: Env, grant: Grant): Promise<void> {
  for (const generation of grant.generations) {
    assert.equal(await env.revoked(generation.access), false, 'an access token was revoked');
    assert.equal(await env.revoked(generation.refresh), false, 'a refresh token was revoked');
  }
}

/**
 * The endpoint suite: every row of docs/behaviour.md, the revocation semantics, RFC 7662
 * introspection and property-based fuzzing, over real HTTP through `mount`. Stores and
 * framework adapters run it unchanged.
 */
export function runEndpointSuite(
  label: string,
  mount: Mount,
  options: EndpointSuiteOptions = {},
): void {
  describe(`endpoint suite: ${label}`, () => {
    const envs = new Map<ConfigName, Promise<Env>>();
    const env = (name: ConfigName = 'default') => {
      let pending = envs.get(name);
      if (!pending) {
        pending = startEnv(mount, CONFIGS[name] as Config, options);
        envs.set(name, pending);
      }
      return pending;
    };
    before(() => env('default').then(() => undefined));
    after(async () => {
      for (const pending of envs.values()) await (await pending).close();
    });

    describe('contract row 1: method other than POST (RFC 7009 §2.1)', () => {
      for (const method of ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
        it(`${method} answers 405 with Allow and invalid_request, revoking nothing`, async () => {
          const e = await env();
          const grant = await e.grant();
          const res = await e.send({
            method,
            path: `${REVOKE}?x=1`,
            headers: { 'content-type': FORM, authorization: APP },
            body: method === 'GET' ? undefined : form({ token: grant.refresh }),
          });
          assertError(res, 405, 'invalid_request');
          assert.equal(res.headers.allow, 'POST');
          await assertIntact(e, grant);
        });
      }
      it('a 405 given before a large body has arrived closes the connection, so the body is never read (row 2: the body is not read past the limit)', async () => {
        const e = await env();
        const grant = await e.grant();
        // Kept alive, Node would read and drop all 100 MB declared to reuse the connection.
        const res = await sendUnfinished(
          e.url,
          'PUT',
          { 'content-type': FORM, authorization: APP, 'content-length': String(100 * 2 ** 20) },
          [form({ token: grant.refresh }), `&pad=${'a'.repeat(16 * 1024)}`],
        );
        assertError(res, 405, 'invalid_request');
        assert.equal(res.headers.connection, 'close');
        await assertIntact(e, grant);
      });
      it('HEAD answers 405 with Allow', async () => {
        const e = await env();
        const res = await e.send({ method: 'HEAD', path: REVOKE });
        assert.equal(res.status, 405);
        assert.equal(res.headers.allow, 'POST');
        assert.equal(res.headers['cache-control'], 'no-store');
      });
      it('the introspection endpoint answers GET with 405 too (RFC 7662 §2.1)', async () => {
        const e = await env();
        const res = await e.send({ method: 'GET', path: INTROSPECT });
        assertError(res, 405, 'invalid_request');
      });
    });

    describe('contract row 2: body over the limit (RFC 7009 §5)', () => {
      it('a declared Content-Length over 64 KiB answers 413, revoking nothing', async () => {
        const e = await env();
        const grant = await e.grant();
        const body = `${form({ token: grant.refresh })}&pad=${'a'.repeat(70 * 1024)}`;
        const res = await e.revoke(body);
        assertError(res, 413, 'invalid_request');
        await assertIntact(e, grant);
      });
      it('a chunked body over the limit answers 413 without being read to the end', async () => {
        const e = await env();
        const grant = await e.grant();
        // The body is never ended: an answer proves the server stopped at the limit.
        const res = await sendUnfinished(
          e.url,
          'POST',
          { 'content-type': FORM, authorization: APP, 'transfer-encoding': 'chunked' },
          [form({ token: grant.refresh }), `&pad=${'a'.repeat(80 * 1024)}`],
        );
        assertError(res, 413, 'invalid_request');
        await assertIntact(e, grant);
      });
      it('a revocation pipelined behind a 413 on the same connection is never run (row 2; RFC 9112 §9.6: nothing is processed after connection: close)', async () => {
        const e = await env();
        const first = await e.grant();
        const second = await e.grant();
        const { host } = new URL(e.url);
        const head = (extra: string) =>
          `POST ${REVOKE} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: ${APP}\r\nContent-Type: ${FORM}\r\n${extra}\r\n`;
        const big = `${form({ token: first.access })}&pad=${'a'.repeat(70 * 1024)}`;
        const small = form({ token: second.access });
        // One write: the pipelined request is parsed before the 413 is written.
        const answers = await onWire(e.url, [
          `${head('Transfer-Encoding: chunked\r\n')}${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n` +
            `${head(`Content-Length: ${small.length}\r\n`)}${small}`,
        ]);
        assert.equal(answers[0]?.status, 413);
        assert.ok(answers.length === 1, `answered after the 413: ${JSON.stringify(answers)}`);
        assert.equal(await e.revoked(second.access), false, 'the pipelined request was run');
        await assertIntact(e, first);
      });
      it('a body of exactly 64 KiB is accepted', async () => {
        const e = await env();
        const grant = await e.grant();
        const head = `${form({ token: grant.access })}&pad=`;
        const res = await e.revoke(head + 'a'.repeat(64 * 1024 - head.length));
        assertRevoked200(res);
        assert.equal(await e.revoked(grant.access), true);
      });
    });

    describe('contract row 3: body not application/x-www-form-urlencoded (RFC 7009 §2.1)', () => {
      for (const type of [
        undefined,
        'application/json',
        'text/plain',
        'multipart/form-data; boundary=x',
        'application/x-www-form-urlencodedx',
      ]) {
        it(`Content-Type ${type ?? '(none)'} answers 400 invalid_request, revoking nothing`, async () => {
          const e = await env();
          const grant = await e.grant();
          const headers: Record<string, string> = { authorization: APP };
          if (type) headers['content-type'] = type;
          const res = await e.send({ path: REVOKE, headers, body: form({ token: grant.refresh }) });
          assertError(res, 400, 'invalid_request');
          await assertIntact(e, grant);
        });
      }
      it('a body that is not a form, its length declared, is refused before it arrives and the connection closes (row 3; clarification: row 2, an answer given before the body)', async () => {
        const e = await env();
        const grant = await e.grant();
        // The body is never finished: an answer proves the type was checked first.
        const res = await sendUnfinished(
          e.url,
          'POST',
          { 'content-type': 'text/plain', authorization: APP, 'content-length': '4096' },
          [form({ token: grant.refresh })],
        );
        assertError(res, 400, 'invalid_request');
        assert.equal(res.headers.connection, 'close');
        await assertIntact(e, grant);
      });
      it('a chunked body that is not a form and is over the limit answers 413, not 400 (row 2 before row 3)', async () => {
        const e = await env();
        const grant = await e.grant();
        const res = await sendUnfinished(
          e.url,
          'POST',
          { 'content-type': 'text/plain', authorization: APP, 'transfer-encoding': 'chunked' },
          [form({ token: grant.refresh }), `&pad=${'a'.repeat(80 * 1024)}`],
        );
        assertError(res, 413, 'invalid_request');
        await assertIntact(e, grant);
      });
      it('a body that is not a form, declared over the limit, answers 413, not 400 (row 2 before row 3)', async () => {
        const e = await env();
        const grant = await e.grant();
        const res = await sendUnfinished(
          e.url,
          'POST',
          { 'content-type': 'text/plain', authorization: APP, 'content-length': String(2 ** 20) },
          [form({ token: grant.refresh })],
        );
        assertError(res, 413, 'invalid_request');
        await assertIntact(e, grant);
      });
      it('Content-Type sent twice answers 400 invalid_request on every runtime, revoking nothing (clarification: row 3, headers sent twice)', async () => {
        const e = await env();
        const grant = await e.grant();
        // Node keeps the first of two Content-Type headers; Fetch joins them. revokit reads
        // them joined everywhere, which is no form media type.
        const res = await e.revoke(form({ token: grant.access }), {
          'content-type': [FORM, 'text/plain'],
        });
        assertError(res, 400, 'invalid_request');
        await assertIntact(e, grant);
      });
      it('a body with a Content-Encoding answers 400 invalid_request, revoking nothing (clarification: row 3, content codings)', async () => {
        const e = await env();
        const grant = await e.grant();
        // Labelled gzip but sent plain: read as sent, it would have been a valid form.
        const res = await e.revoke(form({ token: grant.access }), { 'content-encoding': 'gzip' });
        assertError(res, 400, 'invalid_request');
        await assertIntact(e, grant);
      });
      it('a body with a transfer coding other than chunked answers 400 invalid_request, revoking nothing (clarification: row 3, content codings)', async () => {
        const e = await env();
        const grant = await e.grant();
        // Labelled gzip, then chunked, but sent plain: Node undoes only the chunked framing.
        const res = await e.revoke(form({ token: grant.access }), {
          'transfer-encoding': 'gzip, chunked',
        });
        assertError(res, 400, 'invalid_request');
        await assertIntact(e, grant);
      });
      it('a body that is not valid UTF-8, raw or percent-encoded, answers 400 invalid_request, revoking nothing (clarification: row 3, UTF-8)', async () => {
        const e = await env();
        const grant = await e.grant();
        // Decoded with replacement, tok%FF and tok%FE would both name the token "tok\uFFFD".
        for (const body of [
          `token=${encodeURIComponent(grant.access)}%FF`,
          Buffer.concat([Buffer.from(`token=${grant.access}`), Buffer.from([0xc3])]),
        ]) {
          const res = await e.send({
            path: REVOKE,
            headers: { 'content-type': FORM, authorization: APP },
            body,
          });
          assertError(res, 400, 'invalid_request');
        }
        await assertIntact(e, grant);
      });
      it('a "%" not followed by two hex digits answers 400 invalid_request, revoking nothing (clarification: row 3, percent-encoding)', async () => {
        const e = await env();
        // A token whose value holds a "%" of its own: sent unencoded, it must not be read
        // as itself (it was, leniently), nor answered 200 as a token never found.
        const grant = await e.grant('app', { accessPrefix: 'at%zz' });
        for (const body of [
          `token=${grant.access}`,
          `token=${encodeURIComponent(grant.access)}%`,
          `token=${encodeURIComponent(grant.access)}%4`,
          `token=${encodeURIComponent(grant.access)}&token_type_hint=%`,
        ]) {
          const res = await e.revoke(body);
          assertError(res, 400, 'invalid_request');
          assert.match(JSON.parse(res.body).error_description, /percent-encoding/);
        }
        await assertIntact(e, grant);
        assertRevoked200(await e.revoke(form({ token: grant.access })));
        assert.equal(await e.revoked(grant.access), true);
      });
      it('parameters and case in the media type are accepted', async () => {
        const e = await env();
        const grant = await e.grant();
        const res = await e.revoke(form({ token: grant.access }), {
          'content-type': 'Application/X-WWW-Form-URLEncoded; charset=UTF-8',
        });
        assertRevoked200(res);
        assert.equal(await e.revoked(grant.access), true);
      });
      it('the charset parameter is not read: the form is UTF-8 (RFC 6749 Appendix B; clarification: row 3, charset)', async () => {
        const e = await env();
        const grant = await e.grant();
        const latin1 = { 'content-type': `${FORM}; charset=ISO-8859-1` };
        // é in ISO-8859-1 is not UTF-8: refused, not read as another token.
        assertError(await e.revoke(`token=${grant.access}%E9`, latin1), 400, 'invalid_request');
        await assertIntact(e, grant);
        assertRevoked200(await e.revoke(form({ token: grant.access }), latin1));
        assert.equal(await e.revoked(grant.access), true);
      });
    });

    describe('contract row 4: credentials in the query string (RFC 6749 §2.3.1, RFC 6750 §5.3)', () => {
      for (const name of ['token', 'client_secret', 'client_assertion']) {
        it(`${name} in the URL answers 400 invalid_request, revoking nothing`, async () => {
          const e = await env();
          const grant = await e.grant();
          const res = await e.revoke(
            form({ token: grant.refresh }),
            {},
            `${REVOKE}?${name}=${grant.access}`,
          );
          assertError(res, 400, 'invalid_request');
          await assertIntact(e, grant);
        });
      }
      it('a request target in absolute form is parsed as RFC 3986 does: a ? or # ends the authority, and user information is refused, revoking nothing (clarification: row 4, the request target)', async () => {
        const e = await env();
        const grant = await e.grant();
        const { host } = new URL(e.url);
        const body = form({ token: grant.access });
        // Read with the path starting at the first "/", each would reach the endpoint with
        // its real query, or its user information, unchecked.
        for (const target of [
          `http://${host}?${REVOKE}?token=${grant.refresh}`,
          `http://${host}#${REVOKE}?client_secret=x`,
          `http://user:pw@${host}${REVOKE}`,
        ]) {
          const [answer] = await onWire(e.url, [
            `POST ${target} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: ${APP}\r\nContent-Type: ${FORM}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
          ]);
          assert.ok(answer, `${target}: no answer`);
          assert.ok(
            answer.status === 400 || answer.status === 404,
            `${target}: ${answer.status} ${answer.body}`,
          );
        }
        await assertIntact(e, grant);
        const [control] = await onWire(e.url, [
          `POST http://${host}${REVOKE} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: ${APP}\r\nContent-Type: ${FORM}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
        ]);
        // The same request to the endpoint's own path: served, except by frameworks that
        // build their Fetch Request from Host and target, which refuse the absolute form.
        assert.ok(control, 'no answer to the control');
        if (control.status === 200) assert.equal(await e.revoked(grant.access), true);
        else assert.equal(control.status, 400, control.body);
      });
      it('an unrelated query parameter is ignored', async () => {
        const e = await env();
        const grant = await e.grant();
        assertRevoked200(await e.revoke(form({ token: grant.access }), {}, `${REVOKE}?utm=1`));
        assert.equal(await e.revoked(grant.access), true);
      });
    });

    describe('contract row 5: a parameter given twice (RFC 6749 §3.2)', () => {
      const cases: [string, (g: Grant) => [string, string][]][] = [
        [
          'token',
          (g) => [
            ['token', g.refresh],
            ['token', g.access],
          ],
        ],
        [
          'token, once empty',
          (g) => [
            ['token', ''],
            ['token', g.refresh],
          ],
        ],
        [
          'token_type_hint',
          (g) => [
            ['token', g.refresh],
            ['token_type_hint', 'refresh_token'],
            ['token_type_hint', 'access_token'],
          ],
        ],
        [
          'client_id',
          (g) => [
            ['token', g.refresh],
            ['client_id', 'app'],
            ['client_id', 'app'],
          ],
        ],
        [
          'an unknown parameter',
          (g) => [
            ['token', g.refresh],
            ['x', '1'],
            ['x', '2'],
          ],
        ],
      ];
      for (const [name, pairs] of cases) {
        it(`${name} twice answers 400 invalid_request, revoking nothing`, async () => {
          const e = await env();
          const grant = await e.grant();
          const res = await e.revoke(form(pairs(grant)));
          assertError(res, 400, 'invalid_request');
          await assertIntact(e, grant);
        });
      }
      it('client_secret twice answers 400 for client_secret_post', async () => {
        const e = await env();
        const grant = await e.grant('poster');
        const body = form([
          ['token', grant.refresh],
          ['client_id', 'poster'],
          ['client_secret', SECRETS.poster],
          ['client_secret', SECRETS.poster],
        ]);
        assertError(await e.revoke(body, { authorization: '' }), 400, 'invalid_request');
        await assertIntact(e, grant);
      });
    });

    describe('contract row 6: more than one client authentication method (RFC 6749 §2.3)', () => {
      const cases: [string, (g: Grant) => [string, string][], boolean][] = [
        [
          'Basic and client_secret',
          (g) => [
            ['token', g.refresh],
            ['client_secret', SECRETS.app],
          ],
          true,
        ],
        [
          'Basic and client_assertion',
          (g) => [
            ['token', g.refresh],
            ['client_assertion', 'eyJ.x.y'],
            ['client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'],
          ],
          true,
        ],
        [
          'client_secret and client_assertion',
          (g) => [
            ['token', g.refresh],
            ['client_id', 'app'],
            ['client_secret', SECRETS.app],
            ['client_assertion', 'eyJ.x.y'],
          ],
          false,
        ],
      ];
      for (const [name, pairs, withBasic] of cases) {
        it(`${name} answers 400 invalid_request, revoking nothing`, async () => {
          const e = await env();
          const grant = await e.grant();
          const res = await e.revoke(form(pairs(grant)), withBasic ? {} : { authorization: '' });
          assertError(res, 400, 'invalid_request');
          await assertIntact(e, grant);
        });
      }
      it('an Authorization header of another scheme beside client_secret answers 400, revoking nothing (clarification: row 7, the Authorization header)', async () => {
        const e = await env();
        const grant = await e.grant('poster');
        const res = await e.revoke(
          form({ token: grant.access, client_id: 'poster', client_secret: SECRETS.poster }),
          { authorization: 'Bearer abc' },
        );
        assertError(res, 400, 'invalid_request');
        await assertIntact(e, grant);
      });
      it('Basic with a different client_id in the body answers 400, revoking nothing', async () => {
        const e = await env();
        const grant = await e.grant();
        assertError(
          await e.revoke(form({ token: grant.refresh, client_id: 'other' })),
          400,
          'invalid_request',
        );
        await assertIntact(e, grant);
      });
      it('Basic with the same client_id in the body is accepted', async () => {
        const e = await env();
        const grant = await e.grant();
        assertRevoked200(await e.revoke(form({ token: grant.access, client_id: 'app' })));
        assert.equal(await e.revoked(grant.access), true);
      });
    });

    describe('contract row 7: client authentication fails (RFC 6749 §5.2, RFC 7009 §2.1)', () => {
      const cases: [
        string,
        Record<string, string | string[]>,
        (g: Grant) => [string, string][],
        boolean,
        string?,
      ][] = [
        [
          'an unknown client (Basic)',
          { authorization: basic('nobody', SECRETS.app) },
          (g) => [['token', g.refresh]],
          true,
        ],
        [
          'a wrong secret (Basic)',
          { authorization: basic('app', 'wrong') },
          (g) => [['token', g.refresh]],
          true,
        ],
        [
          'a secret sent without form-encoding where it matters',
          { authorization: `Basic ${Buffer.from(`app:${SECRETS.app}`).toString('base64')}` },
          (g) => [['token', g.refresh]],
          true,
        ],
        [
          'malformed Basic credentials',
          { authorization: 'Basic %%%not-base64' },
          (g) => [['token', g.refresh]],
          true,
        ],
        [
          'Basic without a colon',
          { authorization: `Basic ${Buffer.from('app').toString('base64')}` },
          (g) => [['token', g.refresh]],
          true,
        ],
        [
          'a basic client using client_secret_post',
          { authorization: '' },
          (g) => [
            ['token', g.refresh],
            ['client_id', 'app'],
            ['client_secret', SECRETS.app],
          ],
          false,
        ],
        [
          'a confidential client sending client_id alone',
          { authorization: '' },
          (g) => [
            ['token', g.refresh],
            ['client_id', 'app'],
          ],
          false,
        ],
        ['no credentials at all', { authorization: '' }, (g) => [['token', g.refresh]], false],
        [
          'an unknown public client',
          { authorization: '' },
          (g) => [
            ['token', g.refresh],
            ['client_id', 'nobody'],
          ],
          false,
        ],
        [
          'an unknown client (post)',
          { authorization: '' },
          (g) => [
            ['token', g.refresh],
            ['client_id', 'nobody'],
            ['client_secret', 'x'],
          ],
          false,
        ],
        // Clarification: row 7, the Authorization header. Each would have passed as the
        // public client `spa`, whose token it names, had the header been ignored.
        [
          'an Authorization header of another scheme, beside a public client_id',
          { authorization: 'Bearer abc' },
          (g) => [
            ['token', g.access],
            ['client_id', 'spa'],
          ],
          true,
          'spa',
        ],
        [
          'a bare Basic with no credentials, beside a public client_id',
          { authorization: 'Basic' },
          (g) => [
            ['token', g.access],
            ['client_id', 'spa'],
          ],
          true,
          'spa',
        ],
        [
          'Basic credentials whose base64 holds a space (RFC 7617 §2: token68)',
          { authorization: `${APP.slice(0, 12)} ${APP.slice(12)}` },
          (g) => [['token', g.access]],
          true,
        ],
        [
          'Basic credentials whose base64 lacks its padding (RFC 4648 §4)',
          { authorization: APP_PADDED.replace(/=+$/, '') },
          (g) => [['token', g.access]],
          true,
        ],
        [
          'Basic credentials whose base64 sets the bits its padding leaves (RFC 4648 §3.5)',
          { authorization: withPaddingBits(APP_PADDED) },
          (g) => [['token', g.access]],
          true,
        ],
        [
          'two Authorization headers, each valid for its own client',
          { authorization: [APP, basic('other', SECRETS.other)] },
          (g) => [['token', g.access]],
          true,
        ],
        // Audit finding: PostgreSQL's text cannot hold a NUL, and the store read it as a
        // failure (503) instead of an unknown client.
        [
          'a client_id holding a NUL (post)',
          { authorization: '' },
          (g) => [
            ['token', g.refresh],
            ['client_id', 'app\u0000'],
            ['client_secret', SECRETS.app],
          ],
          false,
        ],
        [
          'a client id holding a NUL (Basic, form-encoded as %00)',
          { authorization: `Basic ${Buffer.from(`app%00:${SECRETS.app}`).toString('base64')}` },
          (g) => [['token', g.refresh]],
          true,
        ],
        [
          'a malformed client_assertion',
          { authorization: '' },
          (g) => [
            ['token', g.refresh],
            ['client_assertion', 'eyJ.x.y'],
            ['client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'],
          ],
          false,
        ],
      ];
      for (const [name, headers, pairs, challenged, owner] of cases) {
        it(`${name} answers 401 invalid_client, revoking nothing`, async () => {
          const e = await env();
          const grant = await e.grant(owner);
          const res = await e.revoke(form(pairs(grant)), headers);
          assertError(res, 401, 'invalid_client');
          if (challenged) assert.match(String(res.headers['www-authenticate']), /^Basic /);
          else assert.equal(res.headers['www-authenticate'], undefined);
          await assertIntact(e, grant);
        });
      }
      it('a client_id holding a NUL fails only its own request, not those beside it (audit finding)', async () => {
        const e = await env();
        const grant = await e.grant();
        const [refused, ...others] = await Promise.all([
          e.revoke(form({ token: grant.refresh, client_id: '\u0000', client_secret: 'x' }), {
            authorization: '',
          }),
          ...Array.from({ length: 10 }, () =>
            e.introspect(form({ token: grant.access }), { authorization: APP }),
          ),
        ]);
        assertError(refused as RawResponse, 401, 'invalid_client');
        for (const res of others) {
          assert.equal(res.status, 200, res.body);
          assert.equal((res.json as { active?: boolean }).active, true);
        }
        await assertIntact(e, grant);
      });
      it('an unknown client and a wrong secret get the very same answer', async () => {
        const e = await env();
        const grant = await e.grant();
        const unknown = await e.revoke(form({ token: grant.refresh }), {
          authorization: basic('nobody', SECRETS.app),
        });
        const wrong = await e.revoke(form({ token: grant.refresh }), {
          authorization: basic('app', 'wrong'),
        });
        assert.equal(unknown.status, wrong.status);
        assert.equal(unknown.body, wrong.body);
        assert.equal(unknown.headers['www-authenticate'], wrong.headers['www-authenticate']);
        await assertIntact(e, grant);
      });
      it('an expired client secret answers 401 (RFC 7591 §3.2.1 client_secret_expires_at)', async () => {
        const e = await env();
        const grant = await e.grant('expired');
        assertError(
          await e.revoke(form({ token: grant.refresh }), {
            authorization: basic('expired', SECRETS.expired),
          }),
          401,
          'invalid_client',
        );
        await assertIntact(e, grant);
      });
      it('revocation_endpoint_auth_method overrides token_endpoint_auth_method (RFC 8414 §2)', async () => {
        const e = await env();
        const grant = await e.grant('override');
        assertError(
          await e.revoke(form({ token: grant.refresh }), {
            authorization: basic('override', SECRETS.override),
          }),
          401,
          'invalid_client',
        );
        await assertIntact(e, grant);
        const body = form({
          token: grant.access,
          client_id: 'override',
          client_secret: SECRETS.override,
        });
        assertRevoked200(await e.revoke(body, { authorization: '' }));
        assert.equal(await e.revoked(grant.access), true);
      });
      it('the introspection endpoint refuses the same way (RFC 7662 §2.1)', async () => {
        const e = await env();
        const grant = await e.grant();
        const res = await e.introspect(form({ token: grant.access }), {
          authorization: basic('app', 'wrong'),
        });
        assertError(res, 401, 'invalid_client');
        assert.match(String(res.headers['www-authenticate']), /^Basic /);
      });
    });

    describe('contract row 8: token missing or empty (RFC 7009 §2.1)', () => {
      for (const [name, body] of [
        ['missing', form({ token_type_hint: 'access_token' })],
        ['empty', 'token='],
        ['an empty body', ''],
      ] as const) {
        it(`token ${name} answers 400 invalid_request`, async () => {
          const e = await env();
          const grant = await e.grant();
          assertError(await e.revoke(body), 400, 'invalid_request');
          await assertIntact(e, grant);
        });
      }
      it('introspection without a token answers 400 invalid_request (RFC 7662 §2.1)', async () => {
        const e = await env();
        assertError(await e.introspect(''), 400, 'invalid_request');
      });
    });

    describe('contract row 9: token not found, expired or already revoked (RFC 7009 §2.2)', () => {
      it('an unknown token answers 200 {}', async () => {
        const e = await env();
        assertRevoked200(await e.revoke(form({ token: 'no-such-token' })));
      });
      it('an expired token answers 200 {} and is left as it was', async () => {
        const e = await env();
        const grant = await e.grant('app', { expiresIn: -60 });
        assertRevoked200(await e.revoke(form({ token: grant.access })));
        assert.equal(await e.revoked(grant.access), false);
      });
      it('an already revoked token answers 200 {}', async () => {
        const e = await env();
        const grant = await e.grant();
        assertRevoked200(await e.revoke(form({ token: grant.refresh })));
        assertRevoked200(await e.revoke(form({ token: grant.refresh })));
        assertRevoked200(await e.revoke(form({ token: grant.access })));
      });
    });

    describe('contract row 10: token issued to another client (RFC 7009 §2.1, RFC 6749 §5.2)', () => {
      for (const kind of ['access', 'refresh'] as const) {
        it(`another client's ${kind} token answers 400 invalid_grant and stays active`, async () => {
          const e = await env();
          const grant = await e.grant('other');
          assertError(await e.revoke(form({ token: grant[kind] })), 400, 'invalid_grant');
          await assertIntact(e, grant);
          const own = await e.introspect(form({ token: grant.access }), {
            authorization: basic('other', SECRETS.other),
          });
          assert.equal((own.json as { active: boolean }).active, true);
        });
      }
      it("a public client (none) sending another client's live token is answered 200 and nothing is revoked: a refusal would tell anyone holding its public client_id that the token is live (clarification: row 10, public clients)", async () => {
        const e = await env();
        const grant = await e.grant('other');
        for (const token of [grant.access, grant.refresh]) {
          assertRevoked200(
            await e.revoke(form({ token, client_id: 'spa' }), { authorization: '' }),
          );
        }
        await assertIntact(e, grant);
      });
      it("with foreignToken: 'ignore' it answers 200 and revokes nothing", async () => {
        const e = await env('ignoreForeign');
        const grant = await e.grant('other');
        assertRevoked200(await e.revoke(form({ token: grant.refresh })));
        await assertIntact(e, grant);
      });
    });

    describe('contract row 11: token type not revoked here (RFC 7009 §2.2.1)', () => {
      it('an access token at a refresh-only endpoint answers 400 unsupported_token_type', async () => {
        const e = await env('refreshOnly');
        const grant = await e.grant();
        assertError(await e.revoke(form({ token: grant.access })), 400, 'unsupported_token_type');
        await assertIntact(e, grant);
        assertRevoked200(await e.revoke(form({ token: grant.refresh })));
        assert.equal(await e.revoked(grant.access), true);
      });
    });

    describe('contract row 12: storage fails or times out (RFC 7009 §2.2.1)', () => {
      for (const mode of ['fail', 'hang'] as const) {
        it(`a store that ${mode === 'fail' ? 'fails' : 'does not answer'} gives 503 temporarily_unavailable with Retry-After`, async () => {
          const e = await env();
          const grant = await e.grant();
          e.store.mode = mode;
          try {
            const res = await e.revoke(form({ token: grant.refresh }));
            assertError(res, 503, 'temporarily_unavailable');
            assert.match(String(res.headers['retry-after']), /^\d+$/);
            const intro = await e.introspect(form({ token: grant.access }));
            assertError(intro, 503, 'temporarily_unavailable');
          } finally {
            e.store.mode = 'ok';
          }
          await assertIntact(e, grant);
        });
      }
      it('a failure of the revocation itself, after the lookup, gives 503 and revokes nothing', async () => {
        const e = await env();
        const grant = await e.grant('app', { rotations: 2 });
        e.store.mode = 'fail';
        e.store.failOnlyWrites = true;
        try {
          assertError(
            await e.revoke(form({ token: grant.refresh })),
            503,
            'temporarily_unavailable',
          );
        } finally {
          e.store.mode = 'ok';
          e.store.failOnlyWrites = false;
        }
        await assertIntact(e, grant);
        assertRevoked200(await e.revoke(form({ token: grant.refresh })));
      });
      it('a client store that fails gives 503, not invalid_client', async () => {
        const e = await env();
        const grant = await e.grant();
        e.clients.failing = true;
        try {
          assertError(
            await e.revoke(form({ token: grant.refresh })),
            503,
            'temporarily_unavailable',
          );
        } finally {
          e.clients.failing = false;
        }
        await assertIntact(e, grant);
      });
    });

    describe('contract row 13: success (RFC 7009 §2.2)', () => {
      it('answers 200 with exactly {} and the no-store headers', async () => {
        const e = await env();
        const grant = await e.grant();
        const res = await e.revoke(form({ token: grant.access, token_type_hint: 'access_token' }));
        assertRevoked200(res);
        assert.equal(res.body, '{}');
        assert.equal(await e.revoked(grant.access), true);
      });
    });

    describe('what revoking does (RFC 7009 §2.1)', () => {
      it('a refresh token takes every token of its grant, every generation, with it', async () => {
        const e = await env();
        const grant = await e.grant('app', { rotations: 2 });
        assertRevoked200(await e.revoke(form({ token: grant.generations[0]!.refresh })));
        for (const generation of grant.generations) {
          assert.equal(await e.revoked(generation.access), true);
          assert.equal(await e.revoked(generation.refresh), true);
          const res = await e.introspect(form({ token: generation.access }));
          assert.deepEqual(res.json, { active: false });
        }
      });
      it('an access token goes alone: its refresh token stays active', async () => {
        const e = await env();
        const grant = await e.grant();
        assertRevoked200(await e.revoke(form({ token: grant.access })));
        assert.equal(await e.revoked(grant.access), true);
        assert.equal(await e.revoked(grant.refresh), false);
        const res = await e.introspect(form({ token: grant.refresh }));
        assert.equal((res.json as { active: boolean }).active, true);
      });
      it('with revokeRefreshWithAccess, an access token takes its grant with it', async () => {
        const e = await env('withRefresh');
        const grant = await e.grant();
        assertRevoked200(await e.revoke(form({ token: grant.access })));
        assert.equal(await e.revoked(grant.refresh), true);
      });
      for (const hint of [
        'refresh_token',
        'access_token',
        'urn:ietf:params:oauth:token-type:refresh_token',
        'no_such_type',
      ]) {
        it(`a token is found whatever the hint (${hint})`, async () => {
          const e = await env();
          const grant = await e.grant();
          assertRevoked200(await e.revoke(form({ token: grant.access, token_type_hint: hint })));
          assert.equal(await e.revoked(grant.access), true);
          assert.equal(await e.revoked(grant.refresh), false);
        });
      }
      it('Basic credentials percent-encoded differently, with base64 padding, name the same client (RFC 6749 §2.3.1)', async () => {
        const e = await env();
        const grant = await e.grant();
        assert.match(APP_PADDED, /=$/);
        assertRevoked200(
          await e.revoke(form({ token: grant.access }), { authorization: APP_PADDED }),
        );
        assert.equal(await e.revoked(grant.access), true);
      });
      it('a public client revokes its own token with client_id alone (RFC 7009 §2.1)', async () => {
        const e = await env();
        const grant = await e.grant('spa');
        assertRevoked200(
          await e.revoke(form({ token: grant.refresh, client_id: 'spa' }), { authorization: '' }),
        );
        assert.equal(await e.revoked(grant.access), true);
      });
      it('client_secret_post works for a client registered with it (RFC 6749 §2.3.1)', async () => {
        const e = await env();
        const grant = await e.grant('poster');
        const body = form({
          token: grant.refresh,
          client_id: 'poster',
          client_secret: SECRETS.poster,
        });
        assertRevoked200(await e.revoke(body, { authorization: '' }));
        assert.equal(await e.revoked(grant.refresh), true);
      });
      it('the revoked event names the token without its value', async () => {
        const e = await env();
        const grant = await e.grant();
        e.events.length = 0;
        assertRevoked200(await e.revoke(form({ token: grant.refresh })));
        assert.equal(e.events.length, 1);
        const event = e.events[0]!;
        assert.equal(event.token.type, 'refresh_token');
        assert.equal(event.cascade, 'grant');
        assert.equal(event.client.clientId, 'app');
        const text = JSON.stringify(event);
        assert.ok(!text.includes(grant.refresh) && !text.includes(grant.access));
        assert.ok(!text.includes(SECRETS.app));
      });
    });

    describe('introspection (RFC 7662 §2.2)', () => {
      it('an active token answers its claims', async () => {
        const e = await env();
        const grant = await e.grant('app', { scope: 'read', sub: 'bob' });
        const res = await e.introspect(form({ token: grant.access }));
        assert.equal(res.status, 200);
        assertNoStore(res);
        const body = res.json as Record<string, unknown>;
        assert.equal(body.active, true);
        assert.equal(body.client_id, 'app');
        assert.equal(body.scope, 'read');
        assert.equal(body.sub, 'bob');
        assert.equal(body.token_type, 'Bearer');
        assert.equal(typeof body.exp, 'number');
        assert.equal(typeof body.iat, 'number');
      });
      it('a refresh token is not described as a Bearer access token', async () => {
        const e = await env();
        const grant = await e.grant();
        const body = (await e.introspect(form({ token: grant.refresh }))).json as Record<
          string,
          unknown
        >;
        assert.equal(body.active, true);
        assert.notEqual(body.token_type, 'Bearer');
      });
      it('unknown, expired and revoked tokens answer exactly {"active":false}', async () => {
        const e = await env();
        const expired = await e.grant('app', { expiresIn: -1 });
        const revoked = await e.grant();
        assertRevoked200(await e.revoke(form({ token: revoked.refresh })));
        for (const token of ['no-such-token', expired.access, revoked.access, revoked.refresh]) {
          const res = await e.introspect(form({ token }));
          assert.equal(res.status, 200);
          assertNoStore(res);
          assert.equal(res.body, '{"active":false}');
        }
      });
      it('another client\'s token answers {"active":false} to a client', async () => {
        const e = await env();
        const grant = await e.grant('other');
        const res = await e.introspect(form({ token: grant.access }));
        assert.deepEqual(res.json, { active: false });
      });
      it('a resource server may introspect any token', async () => {
        const e = await env();
        const grant = await e.grant('other');
        const res = await e.introspect(form({ token: grant.access }), {
          authorization: basic('rs', SECRETS.rs),
        });
        assert.equal((res.json as { active: boolean; client_id: string }).active, true);
        assert.equal((res.json as { client_id: string }).client_id, 'other');
        assertRevoked200(
          await e.revoke(form({ token: grant.refresh }), {
            authorization: basic('other', SECRETS.other),
          }),
        );
        const after = await e.introspect(form({ token: grant.access }), {
          authorization: basic('rs', SECRETS.rs),
        });
        assert.deepEqual(after.json, { active: false });
      });
      it('a public client may not introspect, by default: 401 invalid_client, as without credentials (RFC 7662 §2.1 MUST authorize; clarification: introspection by public clients)', async () => {
        const e = await env();
        const own = await e.grant('spa');
        const res = await e.introspect(form({ token: own.access, client_id: 'spa' }), {
          authorization: '',
        });
        assert.equal(res.status, 401);
        assert.equal((res.json as { error: string }).error, 'invalid_client');
        assertNoStore(res);
        assert.equal(await e.revoked(own.access), false, 'nothing was revoked');
        const metadata = (await e.send({ method: 'GET', path: METADATA })).json as Record<
          string,
          string[]
        >;
        assert.ok(!metadata.introspection_endpoint_auth_methods_supported?.includes('none'));
        assert.ok(metadata.revocation_endpoint_auth_methods_supported?.includes('none'));
      });
      it("with publicClients: 'own-tokens', a public client learns of its own tokens only, even one stored as a resource server (RFC 7662 §4; clarification: introspection by public clients)", async () => {
        const e = await env('publicIntrospection');
        // Past clientFromMetadata, which refuses it: as a store could hold it.
        await e.clients.saveClient({
          clientId: 'public-rs',
          tokenEndpointAuthMethod: 'none',
          resourceServer: true,
        });
        const grant = await e.grant('other');
        const res = await e.introspect(form({ token: grant.access, client_id: 'public-rs' }), {
          authorization: '',
        });
        assert.deepEqual(res.json, { active: false });
        const own = await e.grant('spa');
        const mine = await e.introspect(form({ token: own.access, client_id: 'spa' }), {
          authorization: '',
        });
        assert.equal((mine.json as { active: boolean }).active, true, 'its own tokens it may');
      });
    });

    describe('CORS (contract row 1; RFC 7009 §2.3 replaced by CORS)', () => {
      it('answers a preflight from an allowed origin', async () => {
        const e = await env('cors');
        const res = await e.send({
          method: 'OPTIONS',
          path: REVOKE,
          headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
        });
        assert.equal(res.status, 204);
        assert.equal(res.headers['access-control-allow-origin'], 'https://app.example');
        assert.match(String(res.headers['access-control-allow-methods']), /POST/);
        // Clarification: the preflight's headers.
        assert.equal(res.headers['cache-control'], 'no-store');
        assert.equal(res.headers.pragma, 'no-cache');
      });
      it('gives no allow-origin to another origin', async () => {
        const e = await env('cors');
        const grant = await e.grant('spa');
        const res = await e.revoke(form({ token: grant.access, client_id: 'spa' }), {
          authorization: '',
          origin: 'https://evil.example',
        });
        assertRevoked200(res);
        assert.equal(res.headers['access-control-allow-origin'], undefined);
      });
      it('adds allow-origin to answers for an allowed origin, errors included', async () => {
        const e = await env('cors');
        const grant = await e.grant('spa');
        const ok = await e.revoke(form({ token: grant.access, client_id: 'spa' }), {
          authorization: '',
          origin: 'https://app.example',
        });
        assertRevoked200(ok);
        assert.equal(ok.headers['access-control-allow-origin'], 'https://app.example');
        const bad = await e.revoke('', {
          authorization: '',
          origin: 'https://app.example',
          'content-type': 'text/plain',
        });
        assertError(bad, 400, 'invalid_request');
        assert.equal(bad.headers['access-control-allow-origin'], 'https://app.example');
      });
      it('the metadata answers an allowed origin with allow-origin, and another origin without (RFC 8414 §3; README: cors)', async () => {
        const e = await env('cors');
        const allowed = await e.send({
          method: 'GET',
          path: METADATA,
          headers: { origin: 'https://app.example' },
        });
        assert.equal(allowed.status, 200);
        assert.equal(allowed.headers['access-control-allow-origin'], 'https://app.example');
        const other = await e.send({
          method: 'GET',
          path: METADATA,
          headers: { origin: 'https://evil.example' },
        });
        assert.equal(other.status, 200);
        assert.equal(other.headers['access-control-allow-origin'], undefined);
      });
      it('lists OPTIONS in Allow when CORS is on', async () => {
        const e = await env('cors');
        const res = await e.send({ method: 'GET', path: REVOKE });
        assertError(res, 405, 'invalid_request');
        assert.equal(res.headers.allow, 'POST, OPTIONS');
      });
    });

    describe('metadata (RFC 8414 §2)', () => {
      it('lists both endpoints and their auth methods', async () => {
        const e = await env();
        const res = await e.send({ method: 'GET', path: METADATA });
        assert.equal(res.status, 200);
        const body = res.json as Record<string, unknown>;
        assert.equal(typeof body.issuer, 'string');
        assert.match(String(body.revocation_endpoint), /\/oauth\/revoke$/);
        assert.match(String(body.introspection_endpoint), /\/oauth\/introspect$/);
        assert.deepEqual(body.revocation_endpoint_auth_methods_supported, [
          'client_secret_basic',
          'client_secret_post',
          'private_key_jwt',
          'none',
        ]);
        assert.ok(Array.isArray(body.introspection_endpoint_auth_methods_supported));
        // RFC 8414 §2 requires it; revokit alone has no authorization endpoint.
        assert.deepEqual(body.response_types_supported, []);
      });
    });

    describe('property: no request breaks the endpoint or revokes what it must not', () => {
      const runs = options.propertyRuns ?? Number(process.env.REVOKIT_PROPERTY_RUNS ?? 1000);
      it(`${runs} random requests: never 5xx, always JSON, revoked only by a valid request from the owner`, {
        timeout: 600_000,
      }, async () => {
        const e = await env();
        const arbitrary = requestArbitrary();
        await fc.assert(
          fc.asyncProperty(arbitrary, async (shape) => {
            const grant = await e.grant(shape.owner);
            const req = render(shape, grant);
            const res = await e.send(req.raw);
            assert.ok(res.status < 500, `5xx for ${JSON.stringify(req.raw)}: ${res.body}`);
            if (req.raw.method !== 'HEAD') {
              assert.notEqual(res.json, undefined, `not JSON: ${res.body}`);
            }
            assert.equal(res.headers['cache-control'], 'no-store');
            const revoked = (await e.revoked(grant.access)) || (await e.revoked(grant.refresh));
            assert.equal(
              revoked,
              req.valid,
              `revoked=${revoked} but valid=${req.valid}: ${JSON.stringify(req.raw)} → ${res.status} ${res.body}`,
            );
            if (req.valid) assert.equal(res.status, 200);
          }),
          { numRuns: runs },
        );
      });
      it(`${Math.ceil(runs / 4)} random byte bodies: never 5xx, always JSON, nothing revoked`, {
        timeout: 600_000,
      }, async () => {
        const e = await env();
        const grant = await e.grant();
        await fc.assert(
          fc.asyncProperty(
            fc.uint8Array({ maxLength: 512 }),
            fc.constantFrom(FORM, 'text/plain', 'application/json'),
            async (bytes, type) => {
              const res = await e.send({
                path: REVOKE,
                headers: { 'content-type': type, authorization: APP },
                body: Buffer.from(bytes),
              });
              assert.ok(res.status < 500, res.body);
              assert.notEqual(res.json, undefined, res.body);
            },
          ),
          { numRuns: Math.ceil(runs / 4) },
        );
        await assertIntact(e, grant);
      });
    });
  });
}

/** A random request, described before the grant it targets exists. */
interface Shape {
  owner: 'app' | 'other';
  method: string;
  contentType: string | undefined;
  auth: 'app' | 'wrong' | 'other' | 'malformed' | 'none';
  params: [string, string][];
  tokenParam: 'access' | 'refresh' | 'unknown' | 'absent' | 'empty';
  duplicate: string | undefined;
  queryParam: string | undefined;
  order: number[];
}

const PARAM_POOL: [string, string][] = [
  ['token_type_hint', 'access_token'],
  ['token_type_hint', 'refresh_token'],
  ['token_type_hint', '\u0000weird'],
  ['client_id', 'app'],
  ['client_id', 'other'],
  ['client_secret', SECRETS.app],
  ['client_secret', 'nope'],
  ['client_assertion', 'eyJ.x.y'],
  ['foo', 'bar'],
  ['%zz', '%%'],
  ['ünï', 'cödé'],
];

function requestArbitrary(): fc.Arbitrary<Shape> {
  return fc.record({
    owner: fc.constantFrom('app', 'other'),
    method: fc.oneof(
      fc.constant('POST'),
      fc.constant('POST'),
      fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
    ),
    contentType: fc.constantFrom(
      FORM,
      FORM,
      `${FORM}; charset=utf-8`,
      'application/json',
      'text/plain',
      undefined,
    ),
    auth: fc.constantFrom('app', 'app', 'wrong', 'other', 'malformed', 'none'),
    params: fc.subarray(PARAM_POOL, { maxLength: 4 }),
    tokenParam: fc.constantFrom('access', 'refresh', 'refresh', 'unknown', 'absent', 'empty'),
    duplicate: fc.option(fc.constantFrom('token', 'token_type_hint', 'client_id', 'foo'), {
      nil: undefined,
      freq: 4,
    }),
    queryParam: fc.option(fc.constantFrom('token', 'client_secret', 'client_assertion', 'page'), {
      nil: undefined,
      freq: 6,
    }),
    order: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
  });
}

/** Renders a shape against a grant, with the model's verdict: should it revoke? */
function render(shape: Shape, grant: Grant): { raw: RawRequest; valid: boolean } {
  const params: [string, string][] = [...shape.params];
  const tokenValue =
    shape.tokenParam === 'access'
      ? grant.access
      : shape.tokenParam === 'refresh'
        ? grant.refresh
        : shape.tokenParam === 'unknown'
          ? 'unknown-token'
          : shape.tokenParam === 'empty'
            ? ''
            : undefined;
  if (tokenValue !== undefined) params.push(['token', tokenValue]);
  if (shape.duplicate) {
    const existing = params.find(([name]) => name === shape.duplicate);
    params.push([shape.duplicate, existing ? existing[1] : 'dup']);
    if (!existing) params.push([shape.duplicate, 'dup2']);
  }
  const ordered = params
    .map((pair, i) => ({ pair, key: shape.order[i % shape.order.length]! + i / 100 }))
    .sort((a, b) => a.key - b.key)
    .map(({ pair }) => pair);
  const headers: Record<string, string> = {};
  if (shape.contentType) headers['content-type'] = shape.contentType;
  if (shape.auth === 'app') headers.authorization = APP;
  if (shape.auth === 'wrong') headers.authorization = basic('app', 'wrong');
  if (shape.auth === 'other') headers.authorization = basic('other', SECRETS.other);
  if (shape.auth === 'malformed') headers.authorization = 'Basic ###';
  const query = shape.queryParam ? `?${shape.queryParam}=${encodeURIComponent(grant.access)}` : '';
  const raw: RawRequest = {
    method: shape.method,
    path: REVOKE + query,
    headers,
    body: shape.method === 'GET' ? undefined : form(ordered),
  };

  const names = ordered.map(([name]) => name);
  const has = (name: string) => ordered.some(([n, v]) => n === name && v !== '');
  const bodyClientId = ordered.find(([n]) => n === 'client_id')?.[1];
  const valid =
    shape.method === 'POST' &&
    shape.contentType !== undefined &&
    shape.contentType.startsWith(FORM) &&
    (shape.queryParam === undefined || shape.queryParam === 'page') &&
    new Set(names).size === names.length &&
    shape.auth === shape.owner &&
    !has('client_secret') &&
    !has('client_assertion') &&
    (bodyClientId === undefined || bodyClientId === '' || bodyClientId === shape.owner) &&
    (shape.tokenParam === 'access' || shape.tokenParam === 'refresh');
  return { raw, valid };
}
