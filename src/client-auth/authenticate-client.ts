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

const JWT_METHODS = ['private_key_jwt', 'client_secret_jwt'];

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
export async function authenticateClient(
  input: ClientAuthInput,
  methods: ReadonlyMap<string, ClientAuthMethod>,
  clients: ClientStore,
  endpoint: string,
  lookup: (clientId: string) => Awaitable<Client | undefined> = (id) => clients.getClient(id),
  publicClients = true,
): Promise<AuthenticatedClient> {
  let method: string | undefined;
  let credentials: ClientCredentials | undefined;
  let present = 0;
  // Malformed credentials still count as a method used: "more than one method" (400) is
  // checked before any of them is judged (401).
  let malformed: unknown;
  for (const [name, find] of methods) {
    if (name === 'none') continue;
    let found: ClientCredentials | undefined;
    try {
      found = find(input);
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
  const assertionUnclaimed = assertion && !JWT_METHODS.some((name) => methods.has(name));
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

  const found = lookup(credentials.clientId);
  const client = isPromiseLike(found) ? await found : found;
  const verifying = credentials.verify(client);
  const verified = isPromiseLike(verifying) ? await verifying : verifying;
  if (!client || !verified || authMethodFor(client, endpoint) !== method) {
    throw new InvalidClientError(undefined, { headers: challengeHeaders(credentials) });
  }
  return { client, method };
}
