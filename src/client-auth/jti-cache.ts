import type { Awaitable } from '../util/awaitable.js';

/**
 * Remembers the `jti` of each client's assertions for as long as they could be accepted,
 * so an assertion is accepted once. Behind several servers, every server must share one:
 * the SQLite, PostgreSQL and Redis token stores implement it, and `revokit serve` uses the
 * store's.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-3
 */
export interface ReplayCache {
  /**
   * Records `jti` for `clientId` until `expiresAt` (seconds since the epoch). `false` when
   * it is recorded and not yet expired: a replay. Atomic: of two servers recording the same
   * pair at once, one gets `false`.
   */
  rememberAssertion(clientId: string, jti: string, expiresAt: number): Awaitable<boolean>;
}

/**
 * A {@link ReplayCache} in this process's memory, one partition a client: entries leave
 * when they expire, and a client whose `maxEntriesPerClient` entries are all still live
 * has its next assertions refused until some expire. No client can push another's entries
 * out, and a flood fails closed rather than forgetting.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-3
 */
export class MemoryReplayCache implements ReplayCache {
  readonly #seen = new Map<string, Map<string, number>>();

  constructor(readonly maxEntriesPerClient = 100_000) {}

  rememberAssertion(clientId: string, jti: string, expiresAt: number): boolean {
    const now = Date.now() / 1000;
    let seen = this.#seen.get(clientId);
    if (!seen) {
      seen = new Map();
      this.#seen.set(clientId, seen);
    }
    const previous = seen.get(jti);
    if (previous !== undefined && previous > now) return false;
    if (previous === undefined && seen.size >= this.maxEntriesPerClient) {
      for (const [key, until] of seen) if (until <= now) seen.delete(key);
      if (seen.size >= this.maxEntriesPerClient) return false;
    }
    seen.set(jti, expiresAt);
    return true;
  }
}
