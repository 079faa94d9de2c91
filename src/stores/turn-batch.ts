import type { Awaitable } from '../util/awaitable.js';
import { isPromiseLike } from '../util/awaitable.js';

interface Pending<I, O> {
  readonly input: I;
  readonly queuedAt: number;
  resolve(output: O): void;
  reject(error: unknown): void;
}

/** Options of {@link TurnBatch}. */
export interface TurnBatchOptions {
  /**
   * At most this many batches running at once (default: no limit). Calls made while the
   * limit is reached wait, and go together in one batch as soon as a running one ends.
   */
  readonly concurrency?: number;
  /**
   * How long, in ms, a call may wait for a running batch to end (default: no limit). One
   * that waited longer is rejected with {@link BatchQueueTimeoutError} and never run, so
   * it cannot take effect after its caller has given up on it.
   */
  readonly queueTimeout?: number;
}

/** A call waited longer than its {@link TurnBatchOptions.queueTimeout}; it never ran. */
export class BatchQueueTimeoutError extends Error {
  constructor(ms: number) {
    super(`the store call waited ${ms} ms for an earlier batch and was not run`);
    this.name = 'BatchQueueTimeoutError';
  }
}

/**
 * Collects the calls a store gets in one turn of the event loop and runs them together at
 * its end (`setImmediate`, after every request of the turn has been read): one read
 * transaction, one query or one commit for all of them. `run` answers one output per
 * input, in order; if it throws or rejects, every call of the batch rejects with that
 * error, so an all-or-nothing `run` keeps each call all-or-nothing.
 *
 * With a `concurrency` limit, a batch waits for a running one to end, and carries every
 * call made meanwhile: under load, fewer and larger batches (issue #5).
 *
 * @see https://nodejs.org/api/timers.html#setimmediatecallback-args
 */
export class TurnBatch<I, O> {
  readonly #run: (inputs: readonly I[]) => Awaitable<readonly O[]>;
  readonly #concurrency: number;
  readonly #queueTimeout: number;
  #pending: Pending<I, O>[] = [];
  #running = 0;
  #expiry: ReturnType<typeof setTimeout> | undefined;

  constructor(
    run: (inputs: readonly I[]) => Awaitable<readonly O[]>,
    options: TurnBatchOptions = {},
  ) {
    this.#run = run;
    this.#concurrency = Math.max(1, options.concurrency ?? Number.POSITIVE_INFINITY);
    this.#queueTimeout = Math.max(0, options.queueTimeout ?? Number.POSITIVE_INFINITY);
  }

  /** Queues one call; resolves once its batch has run. */
  add(input: I): Promise<O> {
    return new Promise((resolve, reject) => {
      const queuedAt = this.#queueTimeout === Number.POSITIVE_INFINITY ? 0 : performance.now();
      if (this.#running >= this.#concurrency) {
        this.#pending.push({ input, queuedAt, resolve, reject });
        this.#armExpiry();
        return;
      }
      if (this.#pending.length === 0) setImmediate(this.flush);
      this.#pending.push({ input, queuedAt, resolve, reject });
    });
  }

  /**
   * Runs what is queued now; what arrives meanwhile waits for the next turn. At the
   * `concurrency` limit it runs nothing: the queue goes when a running batch ends.
   */
  readonly flush = (): void => {
    if (this.#pending.length === 0) return;
    if (this.#running >= this.#concurrency) {
      this.#armExpiry();
      return;
    }
    this.#dropExpired();
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    const fail = (error: unknown) => {
      for (const call of batch) call.reject(error);
    };
    const settle = (outputs: readonly O[]) => {
      for (let i = 0; i < batch.length; i++) batch[i]!.resolve(outputs[i]!);
    };
    let outputs: Awaitable<readonly O[]>;
    try {
      outputs = this.#run(batch.map((call) => call.input));
    } catch (error) {
      fail(error);
      return;
    }
    if (!isPromiseLike(outputs)) {
      settle(outputs);
      return;
    }
    this.#running++;
    outputs.then(settle, fail).then(() => {
      this.#running--;
      this.flush();
    });
  };

  /** Rejects, unrun, the calls that have waited longer than the queue timeout. */
  #dropExpired(): void {
    if (this.#queueTimeout === Number.POSITIVE_INFINITY) return;
    const oldest = this.#pending[0];
    const now = performance.now();
    // Calls queue in arrival order: none has waited too long unless the first has.
    if (!oldest || now - oldest.queuedAt <= this.#queueTimeout) return;
    const expired: Pending<I, O>[] = [];
    const kept: Pending<I, O>[] = [];
    for (const call of this.#pending) {
      (now - call.queuedAt > this.#queueTimeout ? expired : kept).push(call);
    }
    this.#pending = kept;
    const error = new BatchQueueTimeoutError(this.#queueTimeout);
    for (const call of expired) call.reject(error);
  }

  /** While calls wait at the limit, rejects each one as soon as it has waited too long. */
  #armExpiry(): void {
    if (this.#queueTimeout === Number.POSITIVE_INFINITY || this.#expiry) return;
    const oldest = this.#pending[0];
    if (!oldest) return;
    const wait = Math.max(0, oldest.queuedAt + this.#queueTimeout - performance.now()) + 1;
    this.#expiry = setTimeout(() => {
      this.#expiry = undefined;
      this.#dropExpired();
      if (this.#pending.length > 0 && this.#running >= this.#concurrency) this.#armExpiry();
    }, wait);
  }
}

/**
 * The outputs of a batch whose inputs repeat: `read` runs once for each distinct input, all
 * at once, and every input gets its output.
 */
export async function readEachOnce<I, O>(
  inputs: readonly I[],
  read: (input: I) => Promise<O>,
): Promise<O[]> {
  const unique = [...new Set(inputs)];
  const outputs = await Promise.all(unique.map(read));
  const byInput = new Map(unique.map((input, i) => [input, outputs[i]!]));
  return inputs.map((input) => byInput.get(input)!);
}
