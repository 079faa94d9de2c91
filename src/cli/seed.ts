import { createPublicKey, type JsonWebKey } from 'node:crypto';
import {
  CLIENT_AUTH_METHODS,
  type ClientMetadata,
  PUBLIC_RESOURCE_SERVER,
} from '../client-auth/client.js';
import { ASSERTION_ALGORITHMS } from '../client-auth/private-key-jwt.js';
import { sha256 } from '../crypto/digest.js';
import type { StoredToken } from '../stores/token-store.js';

/**
 * A token entry of a seed file, in RFC 6749 §5.1 names. An access token and a refresh
 * token given in one entry belong to one grant.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export interface SeedToken {
  client_id: string;
  access_token?: string;
  refresh_token?: string;
  scope?: string;
  sub?: string;
  /** Lifetime of the access token, in seconds from `issued_at`; absent: no expiry. */
  expires_in?: number;
  /** Lifetime of the refresh token, in seconds from `issued_at`; absent: no expiry. */
  refresh_token_expires_in?: number;
  /** Issue time, in seconds since the epoch; absent: when the seed is loaded. */
  issued_at?: number;
  /** Puts several entries in one grant, as rotated refresh tokens are. */
  grant_id?: string;
}

/** A seed file: clients in RFC 7591 names, tokens in RFC 6749 names. */
export interface Seed {
  clients: ClientMetadata[];
  tokens: SeedToken[];
}

/**
 * A seed file that does not hold what it must; `field` names the culprit.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
 */
export class SeedError extends Error {
  override readonly name = 'SeedError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const ROOT_KEYS = ['clients', 'tokens'];
const CLIENT_KEYS = [
  'client_id',
  'client_secret',
  'client_secret_expires_at',
  'token_endpoint_auth_method',
  'revocation_endpoint_auth_method',
  'introspection_endpoint_auth_method',
  'resource_server',
  'jwks',
] satisfies readonly (keyof ClientMetadata)[];
const TOKEN_KEYS = [
  'client_id',
  'access_token',
  'refresh_token',
  'scope',
  'sub',
  'expires_in',
  'refresh_token_expires_in',
  'issued_at',
  'grant_id',
] satisfies readonly (keyof SeedToken)[];

/**
 * Refuses a field revokit does not read: a misspelt one (`clientSecret`, `expiresIn`)
 * would otherwise leave a client public or a token without expiry, silently.
 */
function onlyKnownKeys(entry: Json, known: readonly string[], field: string): void {
  for (const key of Object.keys(entry)) {
    if (!known.includes(key)) {
      throw new SeedError(
        field === '' ? key : `${field}.${key}`,
        `is not a field revokit reads (expected ${known.join(', ')})`,
      );
    }
  }
}

/** Fields the stores index, and the longest value every store's index takes. */
const INDEXED = new Set(['client_id', 'sub', 'grant_id']);
const MAX_INDEXED_BYTES = 2048;

function optionalString(entry: Json, key: string, field: string): string | undefined {
  const value = entry[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') {
    throw new SeedError(`${field}.${key}`, 'must be a non-empty string');
  }
  // PostgreSQL text cannot hold NUL: refused here, so a seed loads on every store or none.
  if (value.includes('\u0000')) {
    throw new SeedError(`${field}.${key}`, 'must not hold a NUL character');
  }
  // Likewise PostgreSQL's B-tree indexes, which take at most ~2,700 bytes a value.
  if (INDEXED.has(key) && Buffer.byteLength(value) > MAX_INDEXED_BYTES) {
    throw new SeedError(`${field}.${key}`, `must be at most ${MAX_INDEXED_BYTES} bytes`);
  }
  return value;
}

function requiredString(entry: Json, key: string, field: string): string {
  const value = optionalString(entry, key, field);
  if (value === undefined) throw new SeedError(`${field}.${key}`, 'is required');
  return value;
}

/** Seconds, times or lifetimes: 10^11 is over 3,000 years, and any sum of two stays exact. */
const MAX_SECONDS = 100_000_000_000;

function optionalNumber(entry: Json, key: string, field: string): number | undefined {
  const value = entry[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_SECONDS) {
    throw new SeedError(
      `${field}.${key}`,
      `must be a whole number of seconds from 0 to ${MAX_SECONDS}`,
    );
  }
  return value;
}

/** JWK members that only a private or a symmetric key has. */
const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

function parseJwks(value: unknown, field: string): { keys: Record<string, unknown>[] } {
  if (!isObject(value) || !Array.isArray(value.keys) || value.keys.length === 0) {
    throw new SeedError(field, 'must be a JWK Set: {"keys": [ ... ]}');
  }
  value.keys.forEach((key, i) => {
    const at = `${field}.keys[${i}]`;
    if (!isObject(key) || typeof key.kty !== 'string') {
      throw new SeedError(at, 'must be a JWK with a "kty"');
    }
    if (key.kty === 'oct') throw new SeedError(at, 'must be a public key, not a symmetric one');
    const secret = SECRET_MEMBERS.find((member) => member in key);
    if (secret) throw new SeedError(at, `must be a public key (it holds "${secret}")`);
    // Only a signing key must name a signature algorithm: a JWK Set may also hold keys
    // for encryption (RFC 7591 §2), which never verify an assertion.
    const signing = key.use === undefined || key.use === 'sig';
    if (signing && key.alg !== undefined && !ASSERTION_ALGORITHMS.includes(String(key.alg))) {
      throw new SeedError(`${at}.alg`, `must be one of ${ASSERTION_ALGORITHMS.join(', ')}`);
    }
    try {
      createPublicKey({ key: key as JsonWebKey, format: 'jwk' });
    } catch {
      throw new SeedError(at, 'is not a valid public key');
    }
  });
  return { keys: value.keys as Record<string, unknown>[] };
}

/**
 * Checks a parsed seed file, naming the first bad field.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
 */
export function parseSeed(input: unknown): Seed {
  if (!isObject(input)) throw new SeedError('(root)', 'must be a JSON object');
  onlyKnownKeys(input, ROOT_KEYS, '');
  const rawClients = input.clients ?? [];
  const rawTokens = input.tokens ?? [];
  if (!Array.isArray(rawClients)) throw new SeedError('clients', 'must be an array');
  if (!Array.isArray(rawTokens)) throw new SeedError('tokens', 'must be an array');

  const ids = new Set<string>();
  const clients = rawClients.map((raw, i): ClientMetadata => {
    const field = `clients[${i}]`;
    if (!isObject(raw)) throw new SeedError(field, 'must be an object');
    onlyKnownKeys(raw, CLIENT_KEYS, field);
    const client_id = requiredString(raw, 'client_id', field);
    if (ids.has(client_id)) throw new SeedError(`${field}.client_id`, `"${client_id}" is repeated`);
    ids.add(client_id);
    const client_secret = optionalString(raw, 'client_secret', field);
    const method = optionalString(raw, 'token_endpoint_auth_method', field);
    const token_endpoint_auth_method = method ?? (client_secret ? 'client_secret_basic' : 'none');
    for (const key of [
      'token_endpoint_auth_method',
      'revocation_endpoint_auth_method',
      'introspection_endpoint_auth_method',
    ]) {
      const value =
        key === 'token_endpoint_auth_method'
          ? token_endpoint_auth_method
          : optionalString(raw, key, field);
      if (value !== undefined && !(CLIENT_AUTH_METHODS as readonly string[]).includes(value)) {
        throw new SeedError(`${field}.${key}`, `must be one of ${CLIENT_AUTH_METHODS.join(', ')}`);
      }
      if (value?.startsWith('client_secret_') && client_secret === undefined) {
        throw new SeedError(`${field}.client_secret`, `is required for ${value}`);
      }
      if (value === 'private_key_jwt' && raw.jwks === undefined) {
        throw new SeedError(`${field}.jwks`, 'is required for private_key_jwt');
      }
    }
    if (token_endpoint_auth_method === 'none' && client_secret !== undefined) {
      throw new SeedError(`${field}.client_secret`, 'must be absent for a public client ("none")');
    }
    if (raw.resource_server !== undefined && typeof raw.resource_server !== 'boolean') {
      throw new SeedError(`${field}.resource_server`, 'must be true or false');
    }
    const metadata: ClientMetadata = { client_id, token_endpoint_auth_method };
    if (client_secret !== undefined) metadata.client_secret = client_secret;
    const expires = optionalNumber(raw, 'client_secret_expires_at', field);
    if (expires !== undefined) metadata.client_secret_expires_at = expires;
    const revocation = optionalString(raw, 'revocation_endpoint_auth_method', field);
    if (revocation !== undefined) metadata.revocation_endpoint_auth_method = revocation;
    const introspection = optionalString(raw, 'introspection_endpoint_auth_method', field);
    if (introspection !== undefined) metadata.introspection_endpoint_auth_method = introspection;
    if (raw.resource_server === true && (introspection ?? token_endpoint_auth_method) === 'none') {
      throw new SeedError(`${field}.resource_server`, PUBLIC_RESOURCE_SERVER);
    }
    if (raw.resource_server === true) metadata.resource_server = true;
    if (raw.jwks !== undefined) metadata.jwks = parseJwks(raw.jwks, `${field}.jwks`);
    return metadata;
  });

  const values = new Set<string>();
  const grantOwners = new Map<string, string>();
  const tokens = rawTokens.map((raw, i): SeedToken => {
    const field = `tokens[${i}]`;
    if (!isObject(raw)) throw new SeedError(field, 'must be an object');
    onlyKnownKeys(raw, TOKEN_KEYS, field);
    const client_id = requiredString(raw, 'client_id', field);
    if (!ids.has(client_id))
      throw new SeedError(`${field}.client_id`, `no client "${client_id}" in clients`);
    const token: SeedToken = { client_id };
    for (const key of ['access_token', 'refresh_token'] as const) {
      const value = optionalString(raw, key, field);
      if (value === undefined) continue;
      if (values.has(value))
        throw new SeedError(`${field}.${key}`, 'is the same value as another token');
      values.add(value);
      token[key] = value;
    }
    if (!token.access_token && !token.refresh_token) {
      throw new SeedError(field, 'needs an access_token, a refresh_token or both');
    }
    for (const key of ['scope', 'sub', 'grant_id'] as const) {
      const value = optionalString(raw, key, field);
      if (value !== undefined) token[key] = value;
    }
    // A grant is one client's: shared, one client's refresh token would revoke the other's.
    if (token.grant_id !== undefined) {
      const owner = grantOwners.get(token.grant_id) ?? client_id;
      if (owner !== client_id) {
        throw new SeedError(
          `${field}.grant_id`,
          `"${token.grant_id}" is a grant of client "${owner}": a grant belongs to one client`,
        );
      }
      grantOwners.set(token.grant_id, client_id);
    }
    for (const key of ['expires_in', 'refresh_token_expires_in', 'issued_at'] as const) {
      const value = optionalNumber(raw, key, field);
      if (value !== undefined) token[key] = value;
    }
    return token;
  });
  return { clients, tokens };
}

/**
 * The stored form of a seed's tokens: digests, never values. A grant id not given is
 * derived from the entry's tokens, so loading the same seed twice names the same grant.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export async function seedTokens(
  tokens: readonly SeedToken[],
  now: number,
): Promise<StoredToken[]> {
  const stored: StoredToken[] = [];
  for (const entry of tokens) {
    const issuedAt = entry.issued_at ?? now;
    const anchor = entry.refresh_token ?? entry.access_token ?? '';
    const grantId = entry.grant_id ?? `seed-${(await sha256(`grant:${anchor}`)).slice(0, 32)}`;
    const common = {
      clientId: entry.client_id,
      grantId,
      issuedAt,
      scope: entry.scope,
      sub: entry.sub,
    };
    if (entry.access_token) {
      stored.push({
        ...common,
        id: await sha256(entry.access_token),
        type: 'access_token',
        expiresAt: entry.expires_in === undefined ? undefined : issuedAt + entry.expires_in,
      });
    }
    if (entry.refresh_token) {
      stored.push({
        ...common,
        id: await sha256(entry.refresh_token),
        type: 'refresh_token',
        expiresAt:
          entry.refresh_token_expires_in === undefined
            ? undefined
            : issuedAt + entry.refresh_token_expires_in,
      });
    }
  }
  return stored;
}
