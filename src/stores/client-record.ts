import type { Client } from '../client-auth/client.js';

/**
 * A {@link Client} as the persistent stores keep it: one flat record of RFC 7591 names,
 * `null` for what is absent. The secret is only ever its SHA-256 digest; `jwks` is the
 * client's public JWK Set as JSON text (schema version 2), which every store can hold as
 * a string and compare as a string.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.2
 */
export interface ClientRecord {
  client_id: string;
  client_secret_digest: string | null;
  client_secret_expires_at: number | null;
  token_endpoint_auth_method: string;
  revocation_endpoint_auth_method: string | null;
  introspection_endpoint_auth_method: string | null;
  resource_server: boolean;
  jwks: string | null;
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
  'jwks',
] as const satisfies readonly (keyof ClientRecord)[];

/**
 * A stored client that cannot be read back, such as a `jwks` that is not a JWK Set. It is
 * thrown, not smoothed over: the endpoints answer it 503 (RFC 7009 §2.2.1) and report it,
 * where reading the keys as absent would answer a registered client 401 `invalid_client`
 * and hide the damage. Saving the client again (`revokit serve --seed`) repairs the record.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.2.1
 */
export class ClientRecordError extends Error {
  override readonly name = 'ClientRecordError';
  constructor(
    readonly clientId: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`stored client ${JSON.stringify(clientId)}: ${message}`, options);
  }
}

/**
 * The record of a client. `jwks` is serialised as given, member order included, so the
 * same client always makes the same text and re-saving it is `unchanged`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
 */
export function clientToRecord(client: Client): ClientRecord {
  return {
    client_id: client.clientId,
    // '' as NULL: it reads back as absent (clientFromRecord), as revokit reads it anyway.
    client_secret_digest: client.clientSecretDigest || null,
    client_secret_expires_at: client.clientSecretExpiresAt ?? null,
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    revocation_endpoint_auth_method: client.revocationEndpointAuthMethod || null,
    introspection_endpoint_auth_method: client.introspectionEndpointAuthMethod || null,
    resource_server: client.resourceServer ?? false,
    jwks: client.jwks === undefined ? null : JSON.stringify(client.jwks),
  };
}

/**
 * The client of a record read back; drivers hand numbers back as strings or numbers and
 * booleans as `0`/`1`, so each field is normalised. A record written before schema
 * version 2 has no `jwks` and reads as a client without keys.
 *
 * @throws {ClientRecordError} when `jwks` is stored but is not a JWK Set.
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
 */
export function clientFromRecord(row: Record<string, unknown>): Client {
  const optional = (value: unknown) => (value == null || value === '' ? undefined : String(value));
  const expires = row.client_secret_expires_at;
  const clientId = String(row.client_id);
  const jwks = optional(row.jwks);
  return {
    clientId,
    clientSecretDigest: optional(row.client_secret_digest),
    clientSecretExpiresAt: expires == null || expires === '' ? undefined : Number(expires),
    tokenEndpointAuthMethod: String(row.token_endpoint_auth_method),
    revocationEndpointAuthMethod: optional(row.revocation_endpoint_auth_method),
    introspectionEndpointAuthMethod: optional(row.introspection_endpoint_auth_method),
    resourceServer:
      row.resource_server === true || row.resource_server === 1 || row.resource_server === '1'
        ? true
        : undefined,
    jwks: jwks === undefined ? undefined : parseStoredJwks(clientId, jwks),
  };
}

/**
 * The JWK Set of a stored `jwks` text. Only the shape is checked here: the keys themselves
 * are checked when an assertion is verified against them.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-5
 */
function parseStoredJwks(clientId: string, text: string): { keys: Record<string, unknown>[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new ClientRecordError(clientId, 'jwks is not valid JSON', { cause });
  }
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (
    typeof value !== 'object' ||
    value === null ||
    !Array.isArray(keys) ||
    !keys.every((key) => typeof key === 'object' && key !== null && !Array.isArray(key))
  ) {
    throw new ClientRecordError(clientId, 'jwks is not a JWK Set ({"keys": [ ... ]})');
  }
  return value as { keys: Record<string, unknown>[] };
}
