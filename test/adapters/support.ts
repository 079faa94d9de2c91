import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryClientStore } from '../../src/client-auth/client-store.js';
import { createRevocationEndpoint } from '../../src/rfc7009/create-revocation-endpoint.js';
import { createIntrospectionEndpoint } from '../../src/rfc7662/create-introspection-endpoint.js';
import {
  AuthorizationServer,
  type AuthorizationServerOptions,
} from '../../src/server/authorization-server.js';
import type { ErrorEvent } from '../../src/server/events.js';
import { MemoryTokenStore } from '../../src/stores/memory/memory-token-store.js';
import { assertError, assertRevoked200, type Mounted } from '../support/endpoint-suite.js';
import { CLIENTS, type Grant, isRevoked, issueGrant, SECRETS } from '../support/fixtures.js';
import { basic, FORM, form, type RawResponse, send } from '../support/http-client.js';

export { listen } from '../support/listen.js';

/** A server over memory stores with the suite's clients, for the targeted tests. */
export interface TestServer {
  server: AuthorizationServer;
  errors: ErrorEvent[];
  grant(clientId?: string): Promise<Grant>;
  revoked(token: string): Promise<boolean>;
}

export async function testServer(
  options: Omit<AuthorizationServerOptions, 'clients'> = {},
): Promise<TestServer> {
  const store = new MemoryTokenStore();
  const clients = await MemoryClientStore.fromMetadata(CLIENTS);
  const server = new AuthorizationServer({ ...options, clients });
  server.registerEndpoint(createRevocationEndpoint(store));
  server.registerEndpoint(
    createIntrospectionEndpoint(store, { foreignTokens: 'resource-servers' }),
  );
  const errors: ErrorEvent[] = [];
  server.on('error', (event) => errors.push(event));
  return {
    server,
    errors,
    grant: (clientId = 'app') => issueGrant(store, clientId),
    revoked: (token) => isRevoked(store, token),
  };
}

/** A form POST as the `app` client (Basic), unless `headers` say otherwise. */
export function revoke(
  base: string,
  path: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  return send(base, {
    path,
    body,
    headers: { 'content-type': FORM, authorization: basic('app', SECRETS.app), ...headers },
  });
}

/** Collects the process warnings emitted while `run` runs. */
export async function warningsDuring(run: () => Promise<void>): Promise<Error[]> {
  const warnings: Error[] = [];
  const listener = (warning: Error) => warnings.push(warning);
  process.on('warning', listener);
  try {
    await run();
    // 'warning' is emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', listener);
  }
  return warnings;
}

/**
 * Issue #4 "Mounting": one endpoint on a route the app chooses (`/auth/tokens/revoke`),
 * the counterpart of Flask's `@app.route`: it revokes there, answers other methods with the
 * contract's 405, and serves nothing at the default paths.
 */
export function describeCustomRoute(
  framework: string,
  mount: (server: AuthorizationServer) => Promise<Mounted>,
): void {
  describe(`${framework}: one endpoint on a route of the app’s choosing (issue #4)`, () => {
    let t: TestServer;
    let mounted: Mounted;
    before(async () => {
      t = await testServer();
      mounted = await mount(t.server);
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
    it('serves nothing at the default paths', async () => {
      const res = await revoke(mounted.url, '/oauth/revoke', form({ token: 'x' }));
      assert.equal(res.status, 404);
    });
  });
}
