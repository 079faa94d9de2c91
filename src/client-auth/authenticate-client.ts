import { InvalidClientError, InvalidRequestError } from '../errors/oauth-error.js';
import { type Awaitable, isPromiseLike } from '../util/awaitable.js';
import { authMethodFor, type Client } from './client.js';
import type { ClientAuthInput, ClientAuthMethod, ClientCredentials } from './client-auth-method.js';
import type { ClientStore } from './client-store.js';

/** A client that proved who it is, and how. */
export interface AuthenticatedClient {
  readonly client: Client;
  /** The name of the method it used, such as `client_secret_basic`. */
  readonly method: string;
}

/** The `WWW-Authenticate` of a failed authentication, built only when one fails. */
function challengeHeaders(credentials: ClientCredentials): Record<string, string> | undefined {
  return credentials.challenge ? { 'www-authenticate': credentials.challenge } : undefined;
}

const JWT_METHODS = ['private_key_jwt', 'client_secret_jwt'] as const;

/**
 * Authenticates the client of a request: exactly one method may be present (400
 * otherwise), the client must exist, its credentials must verify, and the method must be
 * the one it registered for this endpoint. Every failure past the first check answers the
 * same 401 `invalid_client`, so an unknown client and a wrong secret look alike.
 *
 * @param lookup - runs the client store call, mapping its failures to 503
 * @param publicClients - whether `none` is tried when no credentials are present
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export function authenticateClient(
  input: ClientAuthInput,
  methods: ReadonlyMap<string, ClientAuthMethod>,
  clients: ClientStore,
  endpoint: string,
  lookup: (clientId: string) => Awaitable<Client | undefined> = (id) => clients.getClient(id),
  publicClients = true,
): Promise<AuthenticatedClient> {
  // Chained, not awaited: no suspended async frame a request (issue #5). A throw is still
  // a rejection, as from an async function.
  try {
    let method: string | undefined;
    let credentials: ClientCredentials | undefined;
    let present = 0;
    // Malformed credentials still count as a method used: "more than one method" (400) is
    // checked before any of them is judged (401).
    let malformed: unknown;
    for (const name of methods.keys()) {
      if (name === 'none') continue;
      let found: ClientCredentials | undefined;
      try {
        found = methods.get(name)!(input);
      } catch (error) {
        present++;
        malformed ??= error;
        continue;
      }
      if (!found) continue;
      present++;
      method = name;
      credentials = found;
    }
    const assertion = input.params.has('client_assertion');
    const assertionUnclaimed =
      assertion && !methods.has(JWT_METHODS[0]) && !methods.has(JWT_METHODS[1]);
    if (present + (assertionUnclaimed ? 1 : 0) > 1) {
      throw new InvalidRequestError('more than one client authentication method was used');
    }
    if (malformed !== undefined) throw malformed;
    if (assertionUnclaimed) {
      throw new InvalidClientError('client assertions are not supported by this server');
    }
    if (!credentials && !assertion && publicClients) {
      const none = methods.get('none');
      credentials = none?.(input);
      if (credentials) method = 'none';
    }
    if (!credentials || !method) throw new InvalidClientError('client authentication is required');

    const bodyClientId = input.params.get('client_id');
    if (bodyClientId !== undefined && bodyClientId !== credentials.clientId) {
      throw new InvalidRequestError('client_id does not match the authenticated client');
    }
    if (credentials.clientId === '') {
      throw new InvalidClientError(undefined, { headers: challengeHeaders(credentials) });
    }
    const proven = credentials;
    const name = method;
    const found = lookup(proven.clientId);
    if (isPromiseLike(found)) {
      return Promise.resolve(found).then((client) => judge(client, proven, name, endpoint));
    }
    return Promise.resolve(judge(found, proven, name, endpoint));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Verifies the credentials against the client found, and the method it registered. */
function judge(
  client: Client | undefined,
  credentials: ClientCredentials,
  method: string,
  endpoint: string,
): Awaitable<AuthenticatedClient> {
  const verifying = credentials.verify(client);
  if (isPromiseLike(verifying)) {
    return Promise.resolve(verifying).then((verified) =>
      accept(client, verified, credentials, method, endpoint),
    );
  }
  return accept(client, verifying, credentials, method, endpoint);
}

function accept(
  client: Client | undefined,
  verified: boolean,
  credentials: ClientCredentials,
  method: string,
  endpoint: string,
): AuthenticatedClient {
  if (!client || !verified || authMethodFor(client, endpoint) !== method) {
    throw new InvalidClientError(undefined, { headers: challengeHeaders(credentials) });
  }
  return { client, method };
}
