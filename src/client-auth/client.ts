import { sha256 } from '../crypto/digest.js';

/**
 * A registered client as revokit sees it. The secret is kept only as its SHA-256 digest:
 * client secrets are server-generated, high-entropy values, for which a fast digest is
 * as safe as a slow hash and keeps authentication off the hot path's critical section.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
 */
export interface Client {
  /** @see https://www.rfc-editor.org/rfc/rfc6749#section-2.2 */
  readonly clientId: string;
  /** SHA-256 hex digest of the client secret; absent for public clients. */
  readonly clientSecretDigest?: string | undefined;
  /** When the secret stops working, in seconds since the epoch; `0` or absent: never. */
  readonly clientSecretExpiresAt?: number | undefined;
  /** The method the client authenticates with (default `client_secret_basic`). */
  readonly tokenEndpointAuthMethod: string;
  /** Overrides {@link tokenEndpointAuthMethod} at the revocation endpoint. */
  readonly revocationEndpointAuthMethod?: string | undefined;
  /** Overrides {@link tokenEndpointAuthMethod} at the introspection endpoint. */
  readonly introspectionEndpointAuthMethod?: string | undefined;
  /**
   * A resource server may introspect tokens issued to any client, where the introspection
   * endpoint's `foreignTokens` policy allows it.
   */
  readonly resourceServer?: boolean | undefined;
  /** Public keys for `private_key_jwt`, as a JWK Set. */
  readonly jwks?: { keys: Record<string, unknown>[] } | undefined;
}

/**
 * Client metadata in RFC 7591 names, as found in a seed file or a registration request.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
 */
export interface ClientMetadata {
  client_id: string;
  client_secret?: string;
  client_secret_expires_at?: number;
  token_endpoint_auth_method?: string;
  revocation_endpoint_auth_method?: string;
  introspection_endpoint_auth_method?: string;
  /** revokit's extension: see {@link Client.resourceServer}. */
  resource_server?: boolean;
  /** @see https://www.rfc-editor.org/rfc/rfc7591#section-2 */
  jwks?: { keys: Record<string, unknown>[] };
}

/** The client authentication methods revokit implements. */
export const CLIENT_AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'none',
] as const;

/** Why a resource server cannot be a public client. */
export const PUBLIC_RESOURCE_SERVER =
  'a resource server must authenticate at the introspection endpoint (a client_secret or jwks), not as a public client ("none"): anyone can send a public client_id';

/**
 * Builds a {@link Client} from RFC 7591 metadata, digesting the secret. A resource server
 * that would introspect as a public client (`none`) is refused (RFC 7662 §2.1).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
 */
export async function clientFromMetadata(metadata: ClientMetadata): Promise<Client> {
  const method =
    metadata.token_endpoint_auth_method ??
    (metadata.client_secret === undefined ? 'none' : 'client_secret_basic');
  if (
    metadata.resource_server === true &&
    (metadata.introspection_endpoint_auth_method ?? method) === 'none'
  ) {
    throw new TypeError(`client "${metadata.client_id}": ${PUBLIC_RESOURCE_SERVER}`);
  }
  return {
    clientId: metadata.client_id,
    clientSecretDigest:
      metadata.client_secret === undefined ? undefined : await sha256(metadata.client_secret),
    clientSecretExpiresAt: metadata.client_secret_expires_at,
    tokenEndpointAuthMethod: method,
    revocationEndpointAuthMethod: metadata.revocation_endpoint_auth_method,
    introspectionEndpointAuthMethod: metadata.introspection_endpoint_auth_method,
    resourceServer: metadata.resource_server,
    jwks: metadata.jwks,
  };
}

/**
 * The method a client must use at an endpoint: the endpoint's own metadata field when set,
 * else `token_endpoint_auth_method`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
 */
export function authMethodFor(client: Client, endpoint: string): string {
  if (endpoint === 'revocation' && client.revocationEndpointAuthMethod) {
    return client.revocationEndpointAuthMethod;
  }
  if (endpoint === 'introspection' && client.introspectionEndpointAuthMethod) {
    return client.introspectionEndpointAuthMethod;
  }
  return client.tokenEndpointAuthMethod;
}
