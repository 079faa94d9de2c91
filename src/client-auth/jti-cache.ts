/**
 * Remembers the `jti` of client assertions until they expire, so an assertion is accepted
 * once. Kept in the process: behind several servers, give each a shared implementation.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-3
 */
export interface ReplayCache {
  /** Records `key` until `expiresAt` (seconds); `false` when it was already recorded. */
  remember(key: string, expiresAt: number): boolean | Promise<boolean>;
}

/**
 * A {@link ReplayCache} in memory, bounded: entries leave when they expire, and the oldest
 * leave first past `maxEntries`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-3
 */
export class MemoryReplayCache implements ReplayCache {
  readonly #seen = new Map<string, number>();

  constructor(readonly maxEntries = 100_000) {}

  remember(key: string, expiresAt: number): boolean {
    const now = Date.now() / 1000;
    const previous = this.#seen.get(key);
    if (previous !== undefined && previous > now) return false;
    if (this.#seen.size >= this.maxEntries) this.#sweep(now);
    this.#seen.set(key, expiresAt);
    return true;
  }

  #sweep(now: number): void {
    for (const [key, expiresAt] of this.#seen) {
      if (expiresAt <= now || this.#seen.size >= this.maxEntries) this.#seen.delete(key);
      else break;
    }
  }
}
