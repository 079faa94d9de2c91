/**
 * The two token types of RFC 6749 that revocation and introspection deal with.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export type TokenType = 'access_token' | 'refresh_token';

/** Both token types, refresh first: that is the order of the contract's lookups. */
export const TOKEN_TYPES: readonly TokenType[] = Object.freeze(['access_token', 'refresh_token']);

/**
 * What revokit needs to know about a token, whatever the storage. Never holds the token
 * value: stores key tokens by the SHA-256 digest of the value.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.2
 */
export interface TokenInfo {
  /** `access_token` or `refresh_token`. */
  readonly type: TokenType;
  /** The client the token was issued to. */
  readonly clientId: string;
  /** Expiry, in seconds since the epoch; absent: does not expire. */
  readonly expiresAt?: number | undefined;
  /** When it was revoked, in seconds since the epoch; absent: not revoked. */
  readonly revokedAt?: number | undefined;
  /** Issue time, in seconds since the epoch. */
  readonly issuedAt?: number | undefined;
  /** Space-separated scopes. */
  readonly scope?: string | undefined;
  /** The resource owner. */
  readonly sub?: string | undefined;
  /** The grant the token belongs to: revoking a refresh token revokes its grant. */
  readonly grantId?: string | undefined;
  /** The store's key for the token: the SHA-256 digest of its value. */
  readonly id?: string | undefined;
}

/**
 * Whether a token is usable now: not revoked and not expired.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.2
 */
export function isActive(token: TokenInfo, now: number = Date.now() / 1000): boolean {
  return token.revokedAt == null && (token.expiresAt == null || token.expiresAt > now);
}

const HINTS: Readonly<Record<string, TokenType>> = Object.freeze({
  access_token: 'access_token',
  refresh_token: 'refresh_token',
  'urn:ietf:params:oauth:token-type:access_token': 'access_token',
  'urn:ietf:params:oauth:token-type:refresh_token': 'refresh_token',
});

/**
 * Reads `token_type_hint`: the two registered values and their RFC 8693 URNs. Any other
 * value is ignored, as RFC 7009 §2.1 allows, and reads as no hint.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 * @see https://www.rfc-editor.org/rfc/rfc8693#section-3
 */
export function parseTokenTypeHint(hint: string | undefined): TokenType | undefined {
  return hint === undefined ? undefined : Object.hasOwn(HINTS, hint) ? HINTS[hint] : undefined;
}

/**
 * The types to look in, hinted type first, then every other supported type.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export function lookupOrder(
  hint: TokenType | undefined,
  supported: readonly TokenType[] = TOKEN_TYPES,
): TokenType[] {
  if (!hint) return [...supported];
  return [hint, ...supported.filter((type) => type !== hint)];
}
