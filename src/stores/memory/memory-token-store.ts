import { MemoryReplayCache, type ReplayCache } from '../../client-auth/jti-cache.js';
import { checkTokens } from '../token-record.js';
import {
  assertFilter,
  type ConditionalRevocation,
  meetsConditions,
  type PurgeOptions,
  type RevocationConditions,
  type RevokeFilter,
  type StoredToken,
  type TokenStore,
} from '../token-store.js';

/**
 * A copy of a token with its times in whole seconds, rounded down as every store keeps
 * them: a token saved to expire at `now + 0.9` is expired on every store alike.
 */
function wholeTimes(token: StoredToken): { -readonly [K in keyof StoredToken]: StoredToken[K] } {
  const copy = { ...token, issuedAt: Math.floor(token.issuedAt) };
  if (copy.expiresAt != null) copy.expiresAt = Math.floor(copy.expiresAt);
  if (copy.revokedAt != null) copy.revokedAt = Math.floor(copy.revokedAt);
  return copy;
}

/**
 * A {@link TokenStore} in one process's memory: for tests, examples and development.
 * State is lost on exit and not shared between processes.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export class MemoryTokenStore implements ReplayCache, TokenStore {
  readonly #tokens = new Map<string, StoredToken>();
  readonly #assertions = new MemoryReplayCache();

  /**
   * Records a client assertion's `jti`, for this process (see {@link MemoryReplayCache}).
   *
   * @see https://www.rfc-editor.org/rfc/rfc7523#section-3
   */
  rememberAssertion(clientId: string, jti: string, expiresAt: number): boolean {
    return this.#assertions.rememberAssertion(clientId, jti, expiresAt);
  }

  readonly #grants = new Map<string, Set<string>>();
  /** When each revoked grant was revoked: tokens saved into it later are born revoked. */
  readonly #revokedGrants = new Map<string, number>();

  /** @see https://www.rfc-editor.org/rfc/rfc7662#section-2.1 */
  findToken(id: string): StoredToken | undefined {
    return this.#tokens.get(id);
  }

  /** @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1 */
  revokeToken(id: string, at: number): number {
    const token = this.#tokens.get(id);
    if (!token || token.revokedAt != null) return 0;
    this.#tokens.set(id, { ...token, revokedAt: Math.floor(at) });
    return 1;
  }

  /** @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1 */
  revokeTokenIf(id: string, conditions: RevocationConditions): ConditionalRevocation {
    const token = this.#tokens.get(id);
    if (!meetsConditions(token, conditions)) return { token, revoked: false };
    return { token, revoked: this.revokeToken(id, conditions.at) === 1 };
  }

  /** @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1 */
  revokeGrant(grantId: string, at: number): number {
    if (!this.#revokedGrants.has(grantId)) this.#revokedGrants.set(grantId, Math.floor(at));
    let count = 0;
    for (const id of this.#grants.get(grantId) ?? []) count += this.revokeToken(id, at);
    return count;
  }

  /** @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1 */
  saveTokens(tokens: readonly StoredToken[]): number {
    checkTokens(tokens);
    return this.#insert(tokens);
  }

  #insert(tokens: readonly StoredToken[]): number {
    let inserted = 0;
    for (const token of tokens) {
      if (this.#tokens.has(token.id)) continue;
      const grantRevokedAt = this.#revokedGrants.get(token.grantId);
      const stored = wholeTimes(token);
      if (stored.revokedAt == null && grantRevokedAt !== undefined) {
        stored.revokedAt = grantRevokedAt;
      }
      this.#tokens.set(token.id, stored);
      let grant = this.#grants.get(token.grantId);
      if (!grant) {
        grant = new Set();
        this.#grants.set(token.grantId, grant);
      }
      grant.add(token.id);
      inserted++;
    }
    return inserted;
  }

  /** @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1 */
  readonly #seeded = new Set<string>();

  /** {@link TokenStore.saveTokensOnce}: the ledger is a set of ids that `purge` never empties. */
  saveTokensOnce(tokens: readonly StoredToken[]): number {
    checkTokens(tokens);
    const fresh = tokens.filter((token) => !this.#seeded.has(token.id));
    for (const token of fresh) this.#seeded.add(token.id);
    return this.#insert(fresh);
  }

  revokeWhere(filter: RevokeFilter, at: number): number {
    assertFilter(filter);
    if (filter.grantId !== undefined && filter.clientId === undefined && filter.sub === undefined) {
      return this.revokeGrant(filter.grantId, at);
    }
    let count = 0;
    for (const token of this.#tokens.values()) {
      if (filter.clientId !== undefined && token.clientId !== filter.clientId) continue;
      if (filter.sub !== undefined && token.sub !== filter.sub) continue;
      if (filter.grantId !== undefined && token.grantId !== filter.grantId) continue;
      count += this.revokeToken(token.id, at);
    }
    return count;
  }

  /** @see https://www.rfc-editor.org/rfc/rfc7009#section-2 */
  purge({ expiredBefore }: PurgeOptions): number {
    let count = 0;
    for (const token of [...this.#tokens.values()]) {
      // A token that never expires is kept while it is usable; once revoked, its
      // revocation time stands in for the expiry, so revoked tokens do not pile up.
      const end = token.expiresAt ?? token.revokedAt;
      if (end == null || end >= expiredBefore) continue;
      this.#tokens.delete(token.id);
      const grant = this.#grants.get(token.grantId);
      grant?.delete(token.id);
      if (grant?.size === 0) this.#grants.delete(token.grantId);
      count++;
    }
    for (const [grantId, at] of this.#revokedGrants) {
      if (at < expiredBefore && !this.#grants.has(grantId)) this.#revokedGrants.delete(grantId);
    }
    return count;
  }

  migrate(): void {}

  /** How many tokens are stored, revoked ones included. */
  get size(): number {
    return this.#tokens.size;
  }
}
