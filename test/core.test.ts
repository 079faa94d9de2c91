import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seedTokens } from '../src/cli/seed.js';
import {
  AuthorizationServer,
  type Client,
  IntrospectionEndpoint,
  InvalidGrantError,
  MemoryClientStore,
  OAuthError,
  parseTokenTypeHint,
  type RevocationContext,
  RevocationEndpoint,
  type TokenInfo,
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
