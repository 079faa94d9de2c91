import { MemoryClientStore } from '../../src/client-auth/client-store.js';
import { createRevocationEndpoint } from '../../src/rfc7009/create-revocation-endpoint.js';
import { createIntrospectionEndpoint } from '../../src/rfc7662/create-introspection-endpoint.js';
import { AuthorizationServer } from '../../src/server/authorization-server.js';
import type { ErrorEvent } from '../../src/server/events.js';
import { MemoryTokenStore } from '../../src/stores/memory/memory-token-store.js';
import { CLIENTS, type Grant, isRevoked, issueGrant, SECRETS } from '../support/fixtures.js';
import { basic, FORM, type RawResponse, send } from '../support/http-client.js';

export { listen } from '../support/listen.js';

/** A server over memory stores with the suite's clients, for the targeted tests. */
export interface TestServer {
  server: AuthorizationServer;
  errors: ErrorEvent[];
  grant(clientId?: string): Promise<Grant>;
  revoked(token: string): Promise<boolean>;
}

export async function testServer(): Promise<TestServer> {
  const store = new MemoryTokenStore();
  const clients = await MemoryClientStore.fromMetadata(CLIENTS);
  const server = new AuthorizationServer({ clients });
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
