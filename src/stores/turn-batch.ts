import type { Awaitable } from '../util/awaitable.js';
import { isPromiseLike } from '../util/awaitable.js';

interface Pending<I, O> {
  readonly input: I;
  resolve(output: O): void;
  reject(error: unknown): void;
}

/**
 * Collects the calls a store gets in one turn of the event loop and runs them together at
 * its end (`setImmediate`, after every request of the turn has been read): one read
 * transaction, one query or one commit for all of them. `run` answers one output per
 * input, in order; if it throws or rejects, every call of the batch rejects with that
 * error, so an all-or-nothing `run` keeps each call all-or-nothing.
 *
 * @see https://nodejs.org/api/timers.html#setimmediatecallback-args
 */
export class TurnBatch<I, O> {
  readonly #run: (inputs: readonly I[]) => Awaitable<readonly O[]>;
  #pending: Pending<I, O>[] = [];

  constructor(run: (inputs: readonly I[]) => Awaitable<readonly O[]>) {
    this.#run = run;
  }

  /** Queues one call; resolves once its batch has run. */
  add(input: I): Promise<O> {
    return new Promise((resolve, reject) => {
      if (this.#pending.length === 0) setImmediate(this.flush);
      this.#pending.push({ input, resolve, reject });
    });
  }

  /** Runs what is queued now; what arrives meanwhile waits for the next turn. */
  readonly flush = (): void => {
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
    if (isPromiseLike(outputs)) outputs.then(settle, fail);
    else settle(outputs);
  };
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
