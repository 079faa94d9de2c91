/** A value, or a promise of it: in-process stores and digests answer synchronously. */
export type Awaitable<T> = T | Promise<T>;

/**
 * Whether a value is a promise (a thenable). The hot path awaits only what is one: an
 * `await` of a plain value still costs a turn of the microtask queue and, in an async
 * function, the frame it suspends.
 *
 * @see https://tc39.es/ecma262/#sec-promise-resolve-functions
 */
export function isPromiseLike<T>(value: Awaitable<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
