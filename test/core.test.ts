import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { seedTokens } from '../src/cli/seed.js';
import { clientSecretBasic } from '../src/client-auth/client-secret-basic.js';
import { sha256 } from '../src/crypto/digest.js';
import { InvalidRequestError } from '../src/errors/oauth-error.js';
import { hasUserinfo } from '../src/http/endpoint-request.js';
import { type FormParams, parseForm } from '../src/http/form.js';
import {
  AuthorizationServer,
  type AuthorizationServerOptions,
  type Client,
  clientFromMetadata,
  createIntrospectionEndpoint,
  createRevocationEndpoint,
  IntrospectionEndpoint,
  InvalidGrantError,
  MemoryClientStore,
  MemoryTokenStore,
  OAuthError,
  parseTokenTypeHint,
  pathOf,
  queryOf,
  type RevocationConditions,
  type RevocationContext,
  RevocationEndpoint,
  type RevokedEvent,
  type RevokeGrantOptions,
  type StoredToken,
  type TokenInfo,
  type TokenStore,
  type TokenType,
  timingSafeEqual,
} from '../src/index.js';
import { basic } from './support/http-client.js';

/** A token row as an application's own table might hold it: with the values. */
interface Row extends TokenInfo {
  accessToken: string;
  refreshToken: string;
  revoked: boolean;
}

function rows(): Row[] {
  return [
    {
      accessToken: 'a1',
      refreshToken: 'r1',
      type: 'access_token',
      clientId: 'app',
      revoked: false,
    },
    {
      accessToken: 'a2',
      refreshToken: 'r2',
      type: 'access_token',
      clientId: 'friend',
      revoked: false,
    },
  ];
}

/** The seed's Authlib example, written the revokit way. */
class MyRevocationEndpoint extends RevocationEndpoint<Row & { kind: TokenType }> {
  hints: (TokenType | undefined)[] = [];
  constructor(readonly table: Row[] = rows()) {
    super();
  }

  queryToken(token: string, hint: TokenType | undefined, _client: Client) {
    this.hints.push(hint);
    const byAccess = this.table.find((row) => row.accessToken === token);
    const byRefresh = this.table.find((row) => row.refreshToken === token);
    const order = hint === 'refresh_token' ? [byRefresh, byAccess] : [byAccess, byRefresh];
    const row = order.find((found) => found !== undefined);
    if (!row) return undefined;
    const kind: TokenType = row === byAccess ? 'access_token' : 'refresh_token';
    return { ...row, type: kind, kind, revokedAt: row.revoked ? 1 : undefined };
  }

  revokeToken(token: Row, context: RevocationContext) {
    const row = this.table.find((r) => r.accessToken === token.accessToken);
    if (row) row.revoked = true;
    assert.equal(context.client.clientId, 'app');
  }
}

async function serverWith(): Promise<AuthorizationServer> {
  const clients = await MemoryClientStore.fromMetadata([
    {
      client_id: 'app',
      client_secret: 'secret',
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ]);
  return new AuthorizationServer({ clients });
}

function revokeRequest(body: string, auth = basic('app', 'secret')): Request {
  return new Request('https://as.example/anything', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth },
    body,
  });
}

describe('Authlib design: RevocationEndpoint hooks (issue #2, RFC 7009 §2)', () => {
  it('a subclass registered by class answers createEndpointResponse with a Fetch Response', async () => {
    const server = await serverWith();
    const endpoint = server.registerEndpoint(MyRevocationEndpoint);
    const response = await server.createEndpointResponse(
      MyRevocationEndpoint.ENDPOINT_NAME,
      revokeRequest('token=r1&token_type_hint=refresh_token'),
    );
    assert.ok(response instanceof Response);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), '{}');
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(endpoint.table[0]!.revoked, true);
    assert.deepEqual(endpoint.hints, ['refresh_token']);
  });

  it('an instance registers too, and the URN hint reaches the hook normalised (RFC 8693 §3)', async () => {
    const server = await serverWith();
    const endpoint = server.registerEndpoint(new MyRevocationEndpoint());
    const res = await server.createEndpointResponse(
      'revocation',
      revokeRequest(
        'token=a1&token_type_hint=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token',
      ),
    );
    assert.equal(res.status, 200);
    assert.deepEqual(endpoint.hints, ['access_token']);
  });

  it('a foreign token found by the hook is refused with invalid_grant and not revoked (RFC 7009 §2.1)', async () => {
    const server = await serverWith();
    const endpoint = server.registerEndpoint(MyRevocationEndpoint);
    const res = await server.createEndpointResponse('revocation', revokeRequest('token=a2'));
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), {
      error: 'invalid_grant',
      error_description: 'the token was not issued to this client',
    });
    assert.equal(endpoint.table[1]!.revoked, false);
  });

  it('an OAuthError thrown by a hook is answered as it is', async () => {
    class Refusing extends MyRevocationEndpoint {
      override revokeToken(): void {
        throw new InvalidGrantError('grant is locked');
      }
    }
    const server = await serverWith();
    server.registerEndpoint(Refusing);
    const res = await server.createEndpointResponse('revocation', revokeRequest('token=a1'));
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_grant');
  });

  it('an unexpected exception answers 500 server_error and leaks nothing (contract: errors)', async () => {
    class Buggy extends MyRevocationEndpoint {
      override checkOwnership(): boolean {
        throw new Error('secret internal detail at /srv/app.js:10:5');
      }
    }
    const server = await serverWith();
    server.registerEndpoint(Buggy);
    const errors: unknown[] = [];
    server.on('error', (event) => errors.push(event.error));
    const res = await server.createEndpointResponse('revocation', revokeRequest('token=a1'));
    assert.equal(res.status, 500);
    const text = await res.text();
    assert.deepEqual(JSON.parse(text), {
      error: 'server_error',
      error_description: 'the server could not handle the request',
    });
    assert.doesNotMatch(text, /internal detail|app\.js/);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(errors.length, 1);
  });

  it('a hook that fails answers 503 temporarily_unavailable with Retry-After (RFC 7009 §2.2.1)', async () => {
    class Down extends MyRevocationEndpoint {
      override queryToken(): never {
        throw new Error('ECONNREFUSED');
      }
    }
    const server = await serverWith();
    server.registerEndpoint(Down);
    const res = await server.createEndpointResponse('revocation', revokeRequest('token=a1'));
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
  });

  it('createEndpointResponse rejects for an endpoint never registered', async () => {
    const server = await serverWith();
    await assert.rejects(
      server.createEndpointResponse('revocation', revokeRequest('token=a1')),
      /no endpoint/,
    );
  });

  it('a subclass of createIntrospectionEndpoint(store) overrides canIntrospect and introspectToken and type-checks without implementing queryToken (README: policies; RFC 7662 §2.2)', async () => {
    const store = new MemoryTokenStore();
    store.saveTokens([
      {
        id: sha256Hex('foreign-token'),
        type: 'access_token',
        clientId: 'someone-else',
        grantId: 'g-foreign',
        issuedAt: Math.floor(Date.now() / 1000),
      },
    ]);
    class Wider extends createIntrospectionEndpoint(store) {
      override canIntrospect(): boolean {
        return true;
      }
      override introspectToken(token: StoredToken) {
        return { ...super.introspectToken(token), extra: 'yes' };
      }
    }
    const server = await serverWith();
    server.registerEndpoint(Wider);
    const res = await server.createEndpointResponse(
      'introspection',
      revokeRequest('token=foreign-token'),
    );
    assert.equal(res.status, 200);
    assert.deepEqual(
      { ...((await res.json()) as Record<string, unknown>), iat: 0 },
      { active: true, client_id: 'someone-else', token_type: 'Bearer', iat: 0, extra: 'yes' },
    );
  });

  it('registerEndpoint refuses a class without ENDPOINT_NAME', async () => {
    class Nameless extends IntrospectionEndpoint {
      static override readonly ENDPOINT_NAME = '';
      queryToken() {
        return undefined;
      }
    }
    const server = await serverWith();
    assert.throws(() => server.registerEndpoint(Nameless), /ENDPOINT_NAME/);
  });

  it('registerClientAuthMethod adds a method that the pipeline uses (RFC 6749 §2.3.2)', async () => {
    const server = await serverWith();
    server.registerEndpoint(MyRevocationEndpoint);
    const clients = server.clients as MemoryClientStore;
    clients.set({ clientId: 'mtls', tokenEndpointAuthMethod: 'tls_client_auth' });
    server.registerClientAuthMethod('tls_client_auth', ({ request }) => {
      const id = request.header('x-client-cert-subject');
      return id ? { clientId: id, verify: (client) => client?.clientId === id } : undefined;
    });
    const res = await server.createEndpointResponse(
      'revocation',
      new Request('https://as.example/', {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-client-cert-subject': 'mtls',
        },
        body: 'token=unknown',
      }),
    );
    assert.equal(res.status, 200);
    const meta = server.metadata();
    assert.ok((meta.revocation_endpoint_auth_methods_supported ?? []).includes('tls_client_auth'));
  });
});

describe('metadata of the rest of the authorization server (RFC 8414 §2)', () => {
  it("metadata fields given to the server are served beside revokit's, which win", () => {
    const server = new AuthorizationServer({
      issuer: 'https://as.example',
      metadata: {
        token_endpoint: 'https://as.example/token',
        response_types_supported: ['code'],
        issuer: 'https://forged.example',
        revocation_endpoint: 'https://forged.example/revoke',
      },
    });
    server.registerEndpoint(createRevocationEndpoint(new MemoryTokenStore()));
    const meta = server.metadata();
    assert.equal(meta.token_endpoint, 'https://as.example/token');
    assert.deepEqual(meta.response_types_supported, ['code']);
    assert.equal(meta.issuer, 'https://as.example');
    assert.equal(meta.revocation_endpoint, 'https://as.example/oauth/revoke');
    // Each answer gets its own copy: a caller changing one changes no other.
    (meta.response_types_supported as string[]).push('token');
    assert.deepEqual(server.metadata().response_types_supported, ['code']);
  });
});

describe('OAuthError renders itself (RFC 6749 §5.2)', () => {
  it('toResponse carries status, JSON body and headers', async () => {
    const error = new OAuthError('invalid_client', 401, 'nope', {
      headers: { 'www-authenticate': 'Basic' },
      cause: new Error('inner'),
    });
    const res = error.toResponse();
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Basic');
    assert.equal(res.headers.get('pragma'), 'no-cache');
    assert.deepEqual(await res.json(), { error: 'invalid_client', error_description: 'nope' });
    assert.ok(error.cause instanceof Error);
  });
});

describe('building blocks', () => {
  it('token_type_hint: registered values and URNs, anything else ignored (RFC 7009 §2.1)', () => {
    assert.equal(parseTokenTypeHint('access_token'), 'access_token');
    assert.equal(
      parseTokenTypeHint('urn:ietf:params:oauth:token-type:refresh_token'),
      'refresh_token',
    );
    assert.equal(parseTokenTypeHint('id_token'), undefined);
    assert.equal(parseTokenTypeHint('__proto__'), undefined);
    assert.equal(parseTokenTypeHint(undefined), undefined);
  });

  it('request targets: path and query as RFC 3986 §3 parses them, in origin and absolute form (clarification: row 4, the request target)', () => {
    const cases: [string, string, string][] = [
      ['/oauth/revoke', '/oauth/revoke', ''],
      ['/oauth/revoke?a=1#f', '/oauth/revoke', 'a=1'],
      ['/oauth/revoke#f?token=x', '/oauth/revoke', ''],
      ['http://h/oauth/revoke?token=x', '/oauth/revoke', 'token=x'],
      ['http://h', '/', ''],
      // The authority ends at the first "/", "?" or "#": no path, and the rest is a query.
      ['http://h?/oauth/revoke?token=x', '/', '/oauth/revoke?token=x'],
      ['http://h#/oauth/revoke?token=x', '/', ''],
      ['HTTPS://h:8443/p?q', '/p', 'q'],
    ];
    for (const [target, path, query] of cases) {
      assert.equal(pathOf(target), path, `path of ${target}`);
      assert.equal(queryOf(target), query, `query of ${target}`);
    }
    assert.equal(hasUserinfo('http://u:p@h/oauth/revoke'), true);
    assert.equal(hasUserinfo('http://h/oauth/revoke?next=a@b'), false);
    assert.equal(hasUserinfo('/oauth/revoke?x=u@h'), false);
  });

  it('timingSafeEqual compares whole strings', () => {
    assert.equal(timingSafeEqual('abc', 'abc'), true);
    assert.equal(timingSafeEqual('abc', 'abd'), false);
    assert.equal(timingSafeEqual('abc', 'abcd'), false);
    assert.equal(timingSafeEqual('', ''), true);
  });

  it('seeded tokens keep digests, never values (contract: token lookup)', async () => {
    const stored = await seedTokens(
      [
        {
          client_id: 'app',
          access_token: 'plain-access',
          refresh_token: 'plain-refresh',
          expires_in: 60,
        },
      ],
      1000,
    );
    assert.equal(stored.length, 2);
    const text = JSON.stringify(stored);
    assert.ok(!text.includes('plain-access') && !text.includes('plain-refresh'));
    assert.equal(stored[0]!.grantId, stored[1]!.grantId);
    assert.equal(stored[0]!.expiresAt, 1060);
    assert.match(stored[0]!.id, /^[0-9a-f]{64}$/);
  });

  it('cors.origins refuses what no browser sends as Origin (issue #2: CORS per allowed origin)', () => {
    for (const origin of ['https://app.example/', 'https://app.example/path', 'app.example', '*']) {
      assert.throws(
        () => new AuthorizationServer({ cors: { origins: [origin] } }),
        (error: Error) => error instanceof TypeError && error.message.includes(origin),
      );
    }
    assert.doesNotThrow(
      () => new AuthorizationServer({ cors: { origins: ['https://app.example:8443'] } }),
    );
  });

  it('clientFromMetadata refuses a resource server that would introspect as a public client (RFC 7662 §2.1)', async () => {
    await assert.rejects(
      clientFromMetadata({ client_id: 'rs', resource_server: true }),
      /a resource server must authenticate/,
    );
    await assert.rejects(
      clientFromMetadata({
        client_id: 'rs',
        client_secret: 's',
        introspection_endpoint_auth_method: 'none',
        resource_server: true,
      }),
      /a resource server must authenticate/,
    );
    assert.equal(
      (await clientFromMetadata({ client_id: 'rs', client_secret: 's', resource_server: true }))
        .resourceServer,
      true,
    );
  });

  it('issuer must be an RFC 8414 issuer: an http(s) URL with no query, fragment or user info', () => {
    for (const issuer of [
      'not a url',
      'ftp://as.example',
      'https://as.example?x=1',
      'https://as.example#f',
      'https://user:pw@as.example',
    ]) {
      assert.throws(
        () => new AuthorizationServer({ issuer }),
        (error: Error) => error instanceof TypeError && error.message.startsWith('issuer:'),
        issuer,
      );
    }
    assert.equal(
      new AuthorizationServer({ issuer: 'https://as.example/' }).options.issuer,
      'https://as.example',
    );
  });

  it('numeric options out of range are refused at construction (audit finding: NaN lifted the body limit)', () => {
    const bad: [string, AuthorizationServerOptions][] = [
      ['bodyLimit', { bodyLimit: Number.NaN }],
      ['bodyLimit', { bodyLimit: 0 }],
      ['bodyLimit', { bodyLimit: -1 }],
      ['bodyLimit', { bodyLimit: 10.5 }],
      ['storeTimeout', { storeTimeout: 0 }],
      ['storeTimeout', { storeTimeout: -5 }],
      ['storeTimeout', { storeTimeout: 2 ** 31 }],
      ['storeTimeout', { storeTimeout: Number.POSITIVE_INFINITY }],
      ['retryAfter', { retryAfter: -1 }],
      ['retryAfter', { retryAfter: 0.5 }],
      ['cors.maxAge', { cors: { origins: ['https://app.example'], maxAge: -1 } }],
    ];
    for (const [name, options] of bad) {
      assert.throws(
        () => new AuthorizationServer(options),
        (error: Error) => error instanceof RangeError && error.message.startsWith(`${name}:`),
        JSON.stringify(options),
      );
    }
    const server = new AuthorizationServer({ bodyLimit: 1, storeTimeout: 1, retryAfter: 0 });
    assert.deepEqual(
      [server.options.bodyLimit, server.options.storeTimeout, server.options.retryAfter],
      [1, 1, 0],
    );
  });

  it('a client secret is kept as a digest only', async () => {
    const clients = await MemoryClientStore.fromMetadata([
      { client_id: 'c', client_secret: 'plain-secret' },
    ]);
    const client = clients.getClient('c');
    assert.ok(client);
    assert.ok(!JSON.stringify(client).includes('plain-secret'));
    assert.equal(client.tokenEndpointAuthMethod, 'client_secret_basic');
  });
});

/** The digest stores key tokens by; Node computes it synchronously. */
const sha256Hex = (value: string): string => sha256(value) as string;

describe('issue #5: the store-backed revocation endpoint revokes in one store call where it can (RFC 7009 §2.1)', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const token = (id: string, type: TokenType, clientId: string, grantId: string) => ({
    id: sha256Hex(id),
    type,
    clientId,
    grantId,
    issuedAt: now() - 10,
    expiresAt: type === 'access_token' ? now() + 600 : undefined,
  });

  /** A memory store that records which of its methods the endpoint calls. */
  function recordingStore(options: { oneStep?: boolean } = {}) {
    const inner = new MemoryTokenStore();
    inner.saveTokens([
      token('at-app', 'access_token', 'app', 'g1'),
      token('rt-app', 'refresh_token', 'app', 'g1'),
      token('at-friend', 'access_token', 'friend', 'g2'),
    ]);
    const calls: string[] = [];
    const grantOptions: (RevokeGrantOptions | undefined)[] = [];
    const record =
      <A extends unknown[], R>(name: string, call: (...args: A) => R) =>
      (...args: A): R => {
        calls.push(name);
        return call(...args);
      };
    const store: TokenStore = {
      findToken: record('findToken', (id: string) => inner.findToken(id)),
      revokeToken: record('revokeToken', (id: string, at: number) => inner.revokeToken(id, at)),
      revokeGrant: record('revokeGrant', (id: string, at: number, options?: RevokeGrantOptions) => {
        grantOptions.push(options);
        return inner.revokeGrant(id, at);
      }),
      saveTokens: (tokens) => inner.saveTokens(tokens),
    };
    if (options.oneStep !== false) {
      store.revokeTokenIf = record(
        'revokeTokenIf',
        (id: string, conditions: RevocationConditions) => inner.revokeTokenIf(id, conditions),
      );
    }
    const revoked = (value: string) => inner.findToken(sha256Hex(value))?.revokedAt !== undefined;
    return { store, calls, revoked, grantOptions };
  }

  async function post(
    endpoint: ReturnType<typeof createRevocationEndpoint> | RevocationEndpoint<StoredToken>,
    body: string,
    auth = basic('app', 'secret'),
  ) {
    const server = await serverWith();
    const admins = await MemoryClientStore.fromMetadata([
      {
        client_id: 'admin',
        client_secret: 'secret',
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ]);
    (server.clients as MemoryClientStore).set(admins.getClient('admin')!);
    const events: RevokedEvent[] = [];
    server.on('revoked', (event) => events.push(event));
    server.registerEndpoint(endpoint as never);
    const res = await server.createEndpointResponse('revocation', revokeRequest(body, auth));
    return { status: res.status, body: await res.json(), events };
  }

  it('an access token of the client: one revokeTokenIf call, revoked, 200, one revoked event', async () => {
    const { store, calls, revoked } = recordingStore();
    const res = await post(createRevocationEndpoint(store), 'token=at-app');
    assert.deepEqual([res.status, res.body], [200, {}]);
    assert.deepEqual(calls, ['revokeTokenIf']);
    assert.equal(revoked('at-app'), true);
    assert.equal(revoked('rt-app'), false, 'the grant stays');
    assert.deepEqual(
      res.events.map((event) => [event.token.type, event.cascade]),
      [['access_token', 'token']],
    );
  });

  it('a refresh token is not revoked by the one step: its grant is, by revokeGrant (RFC 7009 §2.1 SHOULD)', async () => {
    const { store, calls, revoked, grantOptions } = recordingStore();
    const res = await post(createRevocationEndpoint(store), 'token=rt-app');
    assert.equal(res.status, 200);
    assert.deepEqual(calls, ['revokeTokenIf', 'revokeGrant']);
    // Issue #5 "Cascade": the endpoint never reads the count, so it asks for none.
    assert.deepEqual(grantOptions, [{ count: false }]);
    assert.equal(revoked('at-app'), true);
    assert.equal(revoked('rt-app'), true);
    assert.deepEqual(
      res.events.map((event) => event.cascade),
      ['grant'],
    );
  });

  it('a foreign token: 400 invalid_grant from the pipeline, nothing revoked, no event', async () => {
    const { store, calls, revoked } = recordingStore();
    const res = await post(createRevocationEndpoint(store), 'token=at-friend');
    assert.deepEqual([res.status, (res.body as { error: string }).error], [400, 'invalid_grant']);
    assert.deepEqual(calls, ['revokeTokenIf']);
    assert.equal(revoked('at-friend'), false);
    assert.deepEqual(res.events, []);
  });

  it('foreignToken "ignore": 200 and nothing revoked', async () => {
    const { store, revoked } = recordingStore();
    const res = await post(
      new (createRevocationEndpoint(store))({ foreignToken: 'ignore' }),
      'token=at-friend',
    );
    assert.equal(res.status, 200);
    assert.equal(revoked('at-friend'), false);
  });

  it('a subclass with its own ownership check runs the steps one by one, so its check decides', async () => {
    const { store, calls, revoked } = recordingStore();
    class AdminMayRevoke extends createRevocationEndpoint(store) {
      override checkOwnership(found: StoredToken, client: Client): boolean {
        return client.clientId === 'admin' || super.checkOwnership(found, client);
      }
    }
    const res = await post(AdminMayRevoke, 'token=at-friend', basic('admin', 'secret'));
    assert.equal(res.status, 200);
    assert.deepEqual(calls, ['findToken', 'revokeToken']);
    assert.equal(revoked('at-friend'), true);
  });

  it('a stricter subclass check is not bypassed by the one step', async () => {
    const { store, calls, revoked } = recordingStore();
    class Strict extends createRevocationEndpoint(store) {
      override checkOwnership(): boolean {
        return false;
      }
    }
    const res = await post(Strict, 'token=at-app');
    assert.equal(res.status, 400);
    assert.deepEqual(calls, ['findToken']);
    assert.equal(revoked('at-app'), false);
  });

  it('revokeRefreshWithAccess: every revocation takes its grant, so no one step', async () => {
    const { store, calls, revoked } = recordingStore();
    const res = await post(
      new (createRevocationEndpoint(store))({ revokeRefreshWithAccess: true }),
      'token=at-app',
    );
    assert.equal(res.status, 200);
    assert.deepEqual(calls, ['findToken', 'revokeGrant']);
    assert.equal(revoked('rt-app'), true);
  });

  it('tokenTypes without access tokens: no one step, and an access token is refused unrevoked', async () => {
    const { store, calls, revoked } = recordingStore();
    const res = await post(
      new (createRevocationEndpoint(store))({ tokenTypes: ['refresh_token'] }),
      'token=at-app',
    );
    assert.deepEqual(
      [res.status, (res.body as { error: string }).error],
      [400, 'unsupported_token_type'],
    );
    assert.deepEqual(calls, ['findToken']);
    assert.equal(revoked('at-app'), false);
  });

  it('a store without revokeTokenIf: findToken, then revokeToken', async () => {
    const { store, calls, revoked } = recordingStore({ oneStep: false });
    const res = await post(createRevocationEndpoint(store), 'token=at-app');
    assert.equal(res.status, 200);
    assert.deepEqual(calls, ['findToken', 'revokeToken']);
    assert.equal(revoked('at-app'), true);
  });

  it('a one-step call that fails answers 503 and revokes nothing (RFC 7009 §2.2.1)', async () => {
    const { store, revoked } = recordingStore();
    store.revokeTokenIf = () => Promise.reject(new Error('ECONNRESET'));
    const res = await post(createRevocationEndpoint(store), 'token=at-app');
    assert.equal(res.status, 503);
    assert.equal(revoked('at-app'), false);
  });
});

describe('issue #5: parseForm reads a form as URLSearchParams does, refusing what behaviour.md refuses (RFC 6749 §3.2, WHATWG URL application/x-www-form-urlencoded; clarifications: row 3, UTF-8 and percent-encoding)', () => {
  /** What parseForm must answer, derived from URLSearchParams alone. */
  function expected(body: string): Map<string, string> | 'refused' {
    const values = new Map<string, string>();
    if (/%(?![0-9A-Fa-f]{2})/.test(body)) return 'refused';
    for (const [name, value] of new URLSearchParams(body)) {
      if (values.has(name) || `${name}${value}`.includes('\uFFFD')) return 'refused';
      values.set(name, value);
    }
    return values;
  }
  it('10,000 random bodies: the same parameters, and a refusal exactly where one is due', () => {
    const pieces = [
      'token',
      'a',
      '=',
      '&',
      '&&',
      '%',
      '%4',
      '%41',
      '%zz',
      '%FF',
      '%e9',
      '+',
      ' ',
      'é',
      '\uFFFD',
      'x=1',
      '\r\n',
      '\u0000',
    ];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 12 }), (parts) => {
        const body = parts.join('');
        const want = expected(body);
        let got: ReturnType<typeof parseForm> | 'refused';
        try {
          got = parseForm(body);
        } catch (error) {
          assert.ok(error instanceof InvalidRequestError);
          got = 'refused';
        }
        if (want === 'refused') return assert.equal(got, 'refused', body);
        assert.notEqual(got, 'refused', body);
        for (const [name, value] of want) {
          assert.equal((got as FormParams).get(name), value === '' ? undefined : value, body);
        }
        for (const name of ['token', 'a', 'x', 'b']) {
          if (!want.has(name)) assert.equal((got as FormParams).get(name), undefined, body);
        }
      }),
      { numRuns: 10_000 },
    );
  });
});

describe('client_secret_basic refuses base64 whose padding bits are set (RFC 4648 §3.5; RFC 6749 §2.3.1)', () => {
  for (const [encoded, ok] of [
    ['YTpi', true], // a:b, no padding
    ['YWI6Yw==', true], // ab:c
    ['YWJjOmQ=', true], // abc:d
    ['YWI6Yx==', false], // the same bytes as ab:c, with bits the padding drops
    ['YWJjOmR=', false], // the same bytes as abc:d, likewise
  ] as const) {
    it(`${encoded}: ${ok ? 'decoded' : 'refused as malformed'}`, () => {
      const read = () => clientSecretBasic({ authorization: `Basic ${encoded}` } as never);
      if (ok) assert.equal(read()?.clientId, atob(encoded).split(':')[0]);
      else assert.throws(read, (error: Error) => /malformed Basic/.test(error.message));
    });
  }
});
