import {
  type PurgeOptions,
  type RevokeFilter,
  type StoredToken,
  type TokenStore,
  assertFilter,
} from '../token-store.js';

/**
 * A {@link TokenStore} in one process's memory: for tests, examples and development.
 * State is lost on exit and not shared between processes.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export class MemoryTokenStore implements TokenStore {
  readonly #tokens = new Map<string, StoredToken>();
  readonly #grants = new Map<string, Set<string>>();

  findToken(id: string): StoredToken | undefined {
    return this.#tokens.get(id);
  }

  revokeToken(id: string, at: number): number {
    const token = this.#tokens.get(id);
    if (!token || token.revokedAt != null) return 0;
    this.#tokens.set(id, { ...token, revokedAt: at });
    return 1;
  }

  revokeGrant(grantId: string, at: number): number {
    let count = 0;
    for (const id of this.#grants.get(grantId) ?? []) count += this.revokeToken(id, at);
    return count;
  }

  saveTokens(tokens: readonly StoredToken[]): number {
    let inserted = 0;
    for (const token of tokens) {
      if (this.#tokens.has(token.id)) continue;
      this.#tokens.set(token.id, { ...token });
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

  revokeWhere(filter: RevokeFilter, at: number): number {
    assertFilter(filter);
    let count = 0;
    for (const token of this.#tokens.values()) {
      if (filter.clientId !== undefined && token.clientId !== filter.clientId) continue;
      if (filter.sub !== undefined && token.sub !== filter.sub) continue;
      if (filter.grantId !== undefined && token.grantId !== filter.grantId) continue;
      count += this.revokeToken(token.id, at);
    }
    return count;
  }

  purge({ expiredBefore }: PurgeOptions): number {
    let count = 0;
    for (const token of [...this.#tokens.values()]) {
      if (token.expiresAt == null || token.expiresAt >= expiredBefore) continue;
      this.#tokens.delete(token.id);
      const grant = this.#grants.get(token.grantId);
      grant?.delete(token.id);
      if (grant?.size === 0) this.#grants.delete(token.grantId);
      count++;
    }
    return count;
  }

  migrate(): void {}

  /** How many tokens are stored, revoked ones included. */
  get size(): number {
    return this.#tokens.size;
  }
}
