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
 * them: a token saved to expire at `now + 0.9` is expired on every store alike. Always the
 * same nine fields in the same order, whatever else the caller's object holds: one shape
 * for every stored token, and nothing kept that the other stores would drop.
 */
function wholeTimes(token: StoredToken): { -readonly [K in keyof StoredToken]: StoredToken[K] } {
  return {
    id: token.id,
    type: token.type,
    clientId: token.clientId,
    grantId: token.grantId,
    issuedAt: Math.floor(token.issuedAt),
    expiresAt: token.expiresAt == null ? undefined : Math.floor(token.expiresAt),
    revokedAt: token.revokedAt == null ? undefined : Math.floor(token.revokedAt),
    scope: token.scope ?? undefined,
    sub: token.sub ?? undefined,
  };
}

/**
 * A grant's token ids: the id itself while the grant holds one token, an array beyond. A
 * `Set` per grant cost ~130 bytes a token, a third of the store's heap at 10^6 single-token
 * grants, and a large heap makes every young-generation GC slower (issue #5, flat cost).
 */
type GrantMembers = string | string[];

function membersOf(members: GrantMembers | undefined): readonly string[] {
  return members === undefined ? [] : typeof members === 'string' ? [members] : members;
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

  readonly #grants = new Map<string, GrantMembers>();
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
    for (const id of membersOf(this.#grants.get(grantId))) count += this.revokeToken(id, at);
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
      const members = this.#grants.get(token.grantId);
      if (members === undefined) this.#grants.set(token.grantId, token.id);
      else if (typeof members === 'string') this.#grants.set(token.grantId, [members, token.id]);
      else members.push(token.id);
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
    const gone = new Set<string>();
    const grants = new Set<string>();
    for (const token of this.#tokens.values()) {
      // A token that never expires is kept while it is usable; once revoked, its
      // revocation time stands in for the expiry, so revoked tokens do not pile up.
      const end = token.expiresAt ?? token.revokedAt;
      if (end == null || end >= expiredBefore) continue;
      gone.add(token.id);
      grants.add(token.grantId);
    }
    // One pass over each grant touched, however many of its tokens go.
    for (const id of gone) this.#tokens.delete(id);
    for (const grantId of grants) {
      const kept = membersOf(this.#grants.get(grantId)).filter((id) => !gone.has(id));
      if (kept.length === 0) this.#grants.delete(grantId);
      else this.#grants.set(grantId, kept.length === 1 ? kept[0]! : kept);
    }
    for (const [grantId, at] of this.#revokedGrants) {
      if (at < expiredBefore && !this.#grants.has(grantId)) this.#revokedGrants.delete(grantId);
    }
    return gone.size;
  }

  migrate(): void {}

  /** How many tokens are stored, revoked ones included. */
  get size(): number {
    return this.#tokens.size;
  }
}
