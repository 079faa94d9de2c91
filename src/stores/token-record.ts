import type { TokenType } from '../tokens/token.js';
import type { StoredToken } from './token-store.js';

/**
 * The columns of a token row in the SQL stores, after `id`. `scope` and `sub` are the
 * RFC 7662 §2.2 names; times are whole seconds since the epoch.
 */
export const TOKEN_COLUMNS = [
  'type',
  'client_id',
  'grant_id',
  'issued_at',
  'expires_at',
  'revoked_at',
  'scope',
  'sub',
] as const;

/** A token row as a driver hands it back: numbers may come as strings (`bigint`). */
export type TokenRow = Record<(typeof TOKEN_COLUMNS)[number], unknown>;

const optionalNumber = (value: unknown) => (value == null ? undefined : Number(value));
const optionalString = (value: unknown) => (value == null ? undefined : String(value));

/**
 * The {@link StoredToken} of a row; absent fields are `undefined`, never `null`, so a
 * token reads back exactly as it was saved.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.2
 */
export function tokenFromRow(id: string, row: TokenRow): StoredToken {
  return {
    id,
    type: row.type as TokenType,
    clientId: String(row.client_id),
    grantId: String(row.grant_id),
    issuedAt: Number(row.issued_at),
    expiresAt: optionalNumber(row.expires_at),
    revokedAt: optionalNumber(row.revoked_at),
    scope: optionalString(row.scope),
    sub: optionalString(row.sub),
  };
}

/**
 * A time as the SQL stores keep it: whole seconds, rounded down, so a fractional expiry
 * ends a token early rather than late.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7519#section-2
 */
export function wholeSeconds(value: number | undefined): number | null {
  return value == null ? null : Math.floor(value);
}
