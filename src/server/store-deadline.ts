/** The calls that started in one millisecond, and the one timer they share. */
interface Bucket {
  readonly at: number;
  pending: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  readonly waiters: Waiter[];
}

interface Waiter {
  settled: boolean;
  readonly reject: (error: unknown) => void;
  readonly fail: (error: unknown) => unknown;
}

/** Rejects with `fail`'s error for `error`, or with what `fail` threw. */
function rejectThrough(waiter: Waiter, error: unknown): void {
  try {
    waiter.reject(waiter.fail(error));
  } catch (thrown) {
    waiter.reject(thrown);
  }
}

/**
 * Deadlines for store calls: one timer for all the calls that started in the same
 * millisecond, instead of a timer, a `Promise.race` and an async frame each. Under load a
 * turn starts tens of calls, and that per-call machinery was ~0.9 of the ~7.5 µs an
 * introspection took in process on the SQLite store (issue #5). A call fails no earlier
 * than `timeoutMs` after it started, and at most a millisecond later. A timer runs only
 * while a call is pending, so an idle process can exit.
 */
export class StoreDeadline {
  readonly #timeoutMs: number;
  readonly #timedOut: () => Error;
  #current: Bucket | undefined;

  constructor(timeoutMs: number, timedOut: () => Error) {
    this.#timeoutMs = timeoutMs;
    this.#timedOut = timedOut;
  }

  /**
   * Settles as `call` does, or rejects once the deadline passes first; a rejection's
   * reason, the call's or the deadline's error, goes through `fail` first. What `call`
   * does after its deadline is ignored.
   */
  race<T>(call: PromiseLike<T>, fail: (error: unknown) => unknown): Promise<T> {
    const bucket = this.#bucket(Date.now());
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = { settled: false, reject, fail };
      bucket.waiters.push(waiter);
      bucket.pending++;
      call.then(
        (value) => {
          if (this.#settle(bucket, waiter)) resolve(value);
        },
        (error: unknown) => {
          if (this.#settle(bucket, waiter)) rejectThrough(waiter, error);
        },
      );
    });
  }

  /** Marks `waiter` settled unless its deadline already was; the last one stops the timer. */
  #settle(bucket: Bucket, waiter: Waiter): boolean {
    if (waiter.settled) return false;
    waiter.settled = true;
    if (--bucket.pending === 0) {
      clearTimeout(bucket.timer);
      bucket.timer = undefined;
      if (this.#current === bucket) this.#current = undefined;
    }
    return true;
  }

  #bucket(now: number): Bucket {
    const current = this.#current;
    if (current?.at === now) return current;
    const bucket: Bucket = { at: now, pending: 0, timer: undefined, waiters: [] };
    // A millisecond more than asked: a call of this bucket may have started up to one
    // millisecond after `now`, and none may fail early. setTimeout takes at most 2^31 - 1.
    bucket.timer = setTimeout(
      () => this.#expire(bucket),
      Math.min(this.#timeoutMs + 1, 2 ** 31 - 1),
    );
    this.#current = bucket;
    return bucket;
  }

  #expire(bucket: Bucket): void {
    bucket.timer = undefined;
    if (this.#current === bucket) this.#current = undefined;
    for (const waiter of bucket.waiters) {
      if (waiter.settled) continue;
      waiter.settled = true;
      rejectThrough(waiter, this.#timedOut());
    }
    bucket.waiters.length = 0;
    bucket.pending = 0;
  }
}
