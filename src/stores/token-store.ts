import { isActive, type TokenInfo, type TokenType } from '../tokens/token.js';

import type { Awaitable } from '../util/awaitable.js';

export type { Awaitable } from '../util/awaitable.js';

/** The schema versions a {@link TokenStore.migrate} call went from and to (equal: no change). */
export interface MigrationResult {
  readonly from: number;
  readonly to: number;
}

/**
 * A token as stores keep it: keyed by the SHA-256 digest of its value, never the value.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export interface StoredToken extends TokenInfo {
  /** SHA-256 hex digest of the token value: the key. */
  readonly id: string;
  readonly type: TokenType;
  /** Every token belongs to a grant; rotated refresh tokens stay in their grant. */
  readonly grantId: string;
  readonly issuedAt: number;
}

/**
 * Storage for tokens, behind {@link createRevocationEndpoint} and
 * {@link createIntrospectionEndpoint}. Few methods, each one atomic: a failure must leave
 * nothing half-done, and throwing is how a store says it is unavailable (answered 503).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export interface TokenStore {
  /** The token with this digest, of any type and client, revoked or not. */
  findToken(id: string): Awaitable<StoredToken | undefined>;
  /**
   * Marks one token revoked at `at` (seconds since the epoch), unless it already is.
   * Resolves to how many tokens were newly revoked (0 or 1).
   */
  revokeToken(id: string, at: number): Awaitable<number>;
  /**
   * Marks every token of a grant revoked at `at`, atomically: all of them or none. The grant
   * itself stays marked, so a token saved into it afterwards (a rotation racing the
   * revocation) is stored revoked. Resolves to how many were newly revoked, unless
   * `options.count` is `false`.
   */
  revokeGrant(grantId: string, at: number, options?: RevokeGrantOptions): Awaitable<number>;
  /**
   * Inserts tokens; a token whose id is already stored is left as it is, so saving twice
   * adds nothing and never un-revokes. A token of a revoked grant is stored revoked.
   * Resolves to how many were inserted.
   */
  saveTokens(tokens: readonly StoredToken[]): Awaitable<number>;
  /**
   * {@link saveTokens} for a seed, once in the store's life: a token whose id was ever
   * given to `saveTokensOnce` is skipped, even after `purge` deleted it. The store keeps
   * the ids in a ledger that `purge` never empties, so a seed applied at every start
   * cannot bring a purged, revoked token back as a fresh, active one. Atomic, like
   * `saveTokens`. Resolves to how many were inserted. `revokit serve --seed` uses it when
   * the store has it, and `saveTokens` otherwise.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2
   */
  saveTokensOnce?(tokens: readonly StoredToken[]): Awaitable<number>;
  /**
   * Optional: finds a token and revokes it in one atomic step, only if it meets every one
   * of `conditions` (active at `conditions.at`, issued to `conditions.clientId`, of one of
   * `conditions.types`); only that token, never its grant. Resolves to the token as it
   * was before the step (`undefined` if unknown) and whether this step revoked it. When
   * it does not revoke, it changes nothing. The store-backed revocation endpoint uses it
   * for tokens whose revocation stops at the token, saving a round trip: one call instead
   * of {@link findToken} then {@link revokeToken}.
   */
  revokeTokenIf?(id: string, conditions: RevocationConditions): Awaitable<ConditionalRevocation>;
  /**
   * Bulk revocation for operators: marks every token matching all given fields revoked,
   * atomically. A filter of `grantId` alone is {@link revokeGrant}. Resolves to how many
   * were newly revoked. An empty filter is refused.
   */
  revokeWhere?(filter: RevokeFilter, at: number): Awaitable<number>;
  /**
   * Deletes tokens that expired before `expiredBefore` (seconds since the epoch), and
   * tokens without an expiry that were revoked before it, in batches of at most
   * `batchSize` (default 1000) so no table is locked for long. Resolves to how many were
   * deleted.
   */
  purge?(options: PurgeOptions): Awaitable<number>;
  /**
   * Brings the schema up to date: versioned and idempotent. May resolve to the schema
   * versions it went from and to, which `revokit migrate` reports.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a store's own `migrate(): void` must fit.
  migrate?(): Awaitable<MigrationResult | undefined | void>;
  /** Releases what the store holds. The client instance passed in stays the caller's. */
  close?(): Awaitable<void>;
}

/** What a token must meet for {@link TokenStore.revokeTokenIf} to revoke it. */
export interface RevocationConditions {
  /** The client it was issued to. */
  readonly clientId: string;
  /** The types it may be of. */
  readonly types: readonly TokenType[];
  /** The revocation time (seconds since the epoch): the token must be active then. */
  readonly at: number;
}

/** What {@link TokenStore.revokeTokenIf} found and did. */
export interface ConditionalRevocation {
  /** The token as it was before the call: `undefined` if unknown. */
  readonly token: StoredToken | undefined;
  /** Whether this call revoked it. */
  readonly revoked: boolean;
}

/**
 * Whether a token meets the conditions of {@link TokenStore.revokeTokenIf}: the stores
 * written in TypeScript check it here; the others check the same in SQL or Lua.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export function meetsConditions(
  token: StoredToken | undefined,
  conditions: RevocationConditions,
): token is StoredToken {
  return (
    token !== undefined &&
    token.clientId === conditions.clientId &&
    conditions.types.includes(token.type) &&
    isActive(token, conditions.at)
  );
}

/** Options of {@link TokenStore.revokeGrant}. */
export interface RevokeGrantOptions {
  /**
   * Whether the call must count the tokens it revoked (default `true`). With `false`, the
   * number it resolves to is unspecified and the caller ignores it. The revocation
   * endpoint asks for no count: a store that revokes a grant by marking it (SQLite,
   * PostgreSQL) then writes one row and reads none of the grant's tokens, where counting
   * reads every one of them, scattered over the table as they were issued over time.
   */
  readonly count?: boolean | undefined;
}

/** Which tokens {@link TokenStore.revokeWhere} revokes: those matching every field given. */
export interface RevokeFilter {
  readonly clientId?: string | undefined;
  readonly sub?: string | undefined;
  readonly grantId?: string | undefined;
}

/** Options of {@link TokenStore.purge}. */
export interface PurgeOptions {
  /**
   * Tokens that expired before this time (seconds since the epoch) are deleted; so are
   * tokens without an expiry revoked before it.
   */
  readonly expiredBefore: number;
  /** Largest number of rows deleted per statement (default 1000). */
  readonly batchSize?: number | undefined;
}

/** The largest batch {@link TokenStore.purge} deletes at once unless told otherwise. */
export const DEFAULT_PURGE_BATCH = 1000;

/**
 * Refuses a filter that would match every token.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export function assertFilter(filter: RevokeFilter): void {
  if (filter.clientId === undefined && filter.sub === undefined && filter.grantId === undefined) {
    throw new TypeError('revokeWhere needs clientId, sub or grantId');
  }
}
