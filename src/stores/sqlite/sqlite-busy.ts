/**
 * How long SQLite itself waits for another connection's lock, per attempt (the
 * connection's `busy_timeout`). better-sqlite3 is synchronous: SQLite's wait holds the
 * event loop, so it is kept to a sliver and the store does the rest of the waiting.
 */
export const BUSY_SLICE_MS = 2;

/** Between two attempts of a write that may wait without holding the event loop. */
const RETRY_GAP_MS = 10;

const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

/** Whether SQLite refused because another connection holds the lock (nothing was done). */
export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/**
 * Runs a write, answering synchronously when it goes through at once (the usual case, at
 * no cost). While another connection holds the write lock it tries again every few
 * milliseconds, waiting on timers so that lookups and other requests are answered
 * meanwhile, until `timeoutMs` have passed; then it rejects with SQLite's busy error.
 * Safe because every write starts with `BEGIN IMMEDIATE` (or is one statement): a busy
 * refusal comes before anything is written.
 *
 * @see https://www.sqlite.org/rescode.html#busy
 */
export function retryWhileBusy<T>(write: () => T, timeoutMs: number): T | Promise<T> {
  try {
    return write();
  } catch (error) {
    // Timed from the refusal, not before, so the usual path never reads the clock; the
    // refused attempt already waited up to its slice.
    const deadline = Date.now() + timeoutMs - BUSY_SLICE_MS;
    if (!isBusy(error) || Date.now() >= deadline) throw error;
    return retryLater(write, deadline);
  }
}

async function retryLater<T>(write: () => T, deadline: number): Promise<T> {
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, RETRY_GAP_MS));
    try {
      return write();
    } catch (error) {
      if (!isBusy(error) || Date.now() >= deadline) throw error;
    }
  }
}

/**
 * {@link retryWhileBusy} for the store's synchronous methods (migration, saves, bulk
 * revocations, client writes: set-up and administration, not the request path): it sleeps
 * the thread between attempts, as SQLite's own busy handler would.
 *
 * @see https://www.sqlite.org/rescode.html#busy
 */
export function blockWhileBusy<T>(write: () => T, timeoutMs: number): T {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return write();
    } catch (error) {
      if (!isBusy(error) || Date.now() >= deadline) throw error;
      Atomics.wait(SLEEPER, 0, 0, BUSY_SLICE_MS);
    }
  }
}
