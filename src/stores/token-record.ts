import { TOKEN_TYPES, type TokenType } from '../tokens/token.js';
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

const isText = (value: unknown): value is string => typeof value === 'string' && value !== '';
const isTime = (value: unknown) => typeof value === 'number' && Number.isFinite(value);

/**
 * Throws a `TypeError` naming the first token no store can hold: an id, client or grant
 * that is not a non-empty string, a type other than the two RFC 7009 §2.1 names, a time
 * that is not a finite number, a scope or subject that is not a string, or a grant given
 * to two clients in the one call (a grant is one client's; across calls the caller keeps
 * it so). Every built-in store calls it before it writes, so a call from plain JavaScript
 * is refused the same way by all four and changes nothing, where a column constraint
 * would have caught some of it in one store and none of it in another.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export function checkTokens(tokens: readonly StoredToken[]): void {
  // A grant is one client's: shared, one client's refresh token would revoke the other's.
  const owners = new Map<string, string>();
  tokens.forEach((token, i) => {
    if (typeof token !== 'object' || token === null) {
      throw new TypeError(`saveTokens: tokens[${i}] must be an object`);
    }
    const problem = (field: string, expected: string) =>
      new TypeError(`saveTokens: tokens[${i}].${field} must be ${expected}`);
    for (const field of ['id', 'clientId', 'grantId'] as const) {
      if (!isText(token[field])) throw problem(field, 'a non-empty string');
    }
    if (!TOKEN_TYPES.includes(token.type)) throw problem('type', TOKEN_TYPES.join(' or '));
    if (!isTime(token.issuedAt)) throw problem('issuedAt', 'a number of seconds');
    for (const field of ['expiresAt', 'revokedAt'] as const) {
      if (token[field] != null && !isTime(token[field])) {
        throw problem(field, 'a number of seconds, or absent');
      }
    }
    for (const field of ['scope', 'sub'] as const) {
      if (token[field] != null && typeof token[field] !== 'string') {
        throw problem(field, 'a string, or absent');
      }
    }
    const owner = owners.get(token.grantId) ?? token.clientId;
    if (owner !== token.clientId) {
      throw new TypeError(
        `saveTokens: tokens[${i}].grantId names a grant of client ${JSON.stringify(owner)}; a grant is one client's`,
      );
    }
    owners.set(token.grantId, owner);
  });
}
