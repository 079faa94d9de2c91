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
 * Runs the writes of one connection's request path while another connection may hold the
 * write lock. A write answers synchronously when it goes through at once (the usual case,
 * at no cost). Refused, it waits on timers, so lookups and other requests are answered
 * meanwhile, and tries again every few milliseconds until `timeoutMs` have passed; then it
 * rejects with SQLite's busy error. The writes that come while one waits queue behind it,
 * in order, without asking SQLite: under load, hundreds of waiting writes each polling,
 * each attempt spending its slice in SQLite's own wait, would hold the event loop again.
 * A queued write whose time ran out rejects without an attempt. Retrying is safe because
 * every write starts with `BEGIN IMMEDIATE` or is one statement: a busy refusal comes
 * before anything is written.
 *
 * @see https://www.sqlite.org/rescode.html#busy
 */
export class BusyQueue {
  readonly #timeoutMs: number;
  /** Settles when the last queued write has; set only while some write waits. */
  #tail: Promise<void> | undefined;
  /** Whether the last queued write went through: the lock is likely free for the next. */
  #lastWent = false;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** Settles once every write queued so far has gone through or failed (at once if none). */
  idle(): Promise<void> {
    return this.#tail ?? Promise.resolve();
  }

  run<T>(write: () => T): T | Promise<T> {
    if (this.#tail) return this.#enqueue(write, Date.now() + this.#timeoutMs, true);
    try {
      return write();
    } catch (error) {
      // Timed from the refusal, so the usual path never reads the clock; the refused
      // attempt already waited its slice.
      const deadline = Date.now() + this.#timeoutMs - BUSY_SLICE_MS;
      if (!isBusy(error) || Date.now() >= deadline) throw error;
      return this.#enqueue(write, deadline, false);
    }
  }

  #enqueue<T>(write: () => T, deadline: number, queued: boolean): Promise<T> {
    const previous = this.#tail ?? Promise.resolve();
    const mine = previous.then(() => this.#attempt(write, deadline, queued));
    const settled = mine.then(
      () => {},
      () => {},
    );
    this.#tail = settled;
    void settled.then(() => {
      if (this.#tail === settled) this.#tail = undefined;
    });
    return mine;
  }

  async #attempt<T>(write: () => T, deadline: number, queued: boolean): Promise<T> {
    // A write queued behind one that went through tries at once; otherwise the lock is
    // likely still held, and it waits first.
    let wait = !(queued && this.#lastWent);
    this.#lastWent = false;
    for (;;) {
      if (wait) await new Promise((resolve) => setTimeout(resolve, RETRY_GAP_MS));
      wait = true;
      if (Date.now() >= deadline) throw busyPastDeadline();
      try {
        const result = write();
        this.#lastWent = true;
        return result;
      } catch (error) {
        if (!isBusy(error)) {
          this.#lastWent = true;
          throw error;
        }
      }
    }
  }
}

function busyPastDeadline(): Error {
  return Object.assign(new Error('database is locked: waited past busyTimeout'), {
    code: 'SQLITE_BUSY',
  });
}

/**
 * {@link BusyQueue}'s retries for the store's synchronous methods (migration, saves, bulk
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
