import type { Client } from '../client-auth/client.js';

/**
 * A {@link Client} as the persistent stores keep it: one flat record of RFC 7591 names,
 * `null` for what is absent. The secret is only ever its SHA-256 digest.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
 */
export interface ClientRecord {
  client_id: string;
  client_secret_digest: string | null;
  client_secret_expires_at: number | null;
  token_endpoint_auth_method: string;
  revocation_endpoint_auth_method: string | null;
  introspection_endpoint_auth_method: string | null;
  resource_server: boolean;
}

/** The columns of a {@link ClientRecord}, in the order the SQL stores bind them. */
export const CLIENT_COLUMNS = [
  'client_id',
  'client_secret_digest',
  'client_secret_expires_at',
  'token_endpoint_auth_method',
  'revocation_endpoint_auth_method',
  'introspection_endpoint_auth_method',
  'resource_server',
] as const satisfies readonly (keyof ClientRecord)[];

/**
 * The record of a client.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
 */
export function clientToRecord(client: Client): ClientRecord {
  return {
    client_id: client.clientId,
    client_secret_digest: client.clientSecretDigest ?? null,
    client_secret_expires_at: client.clientSecretExpiresAt ?? null,
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    revocation_endpoint_auth_method: client.revocationEndpointAuthMethod ?? null,
    introspection_endpoint_auth_method: client.introspectionEndpointAuthMethod ?? null,
    resource_server: client.resourceServer ?? false,
  };
}

/**
 * The client of a record read back; drivers hand numbers back as strings or numbers and
 * booleans as `0`/`1`, so each field is normalised.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
 */
export function clientFromRecord(row: Record<string, unknown>): Client {
  const optional = (value: unknown) => (value == null || value === '' ? undefined : String(value));
  const expires = row.client_secret_expires_at;
  return {
    clientId: String(row.client_id),
    clientSecretDigest: optional(row.client_secret_digest),
    clientSecretExpiresAt: expires == null || expires === '' ? undefined : Number(expires),
    tokenEndpointAuthMethod: String(row.token_endpoint_auth_method),
    revocationEndpointAuthMethod: optional(row.revocation_endpoint_auth_method),
    introspectionEndpointAuthMethod: optional(row.introspection_endpoint_auth_method),
    resourceServer:
      row.resource_server === true || row.resource_server === 1 || row.resource_server === '1'
        ? true
        : undefined,
  };
}
