import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreDeadline } from '../src/server/store-deadline.js';

// Issue #5: store calls share one deadline timer per millisecond of their start. What the
// endpoints promise (docs/behaviour.md, row 12: a store that does not answer is a 503 after
// storeTimeout) is checked end to end by the endpoint suite; these pin the timer itself.

class Timeout extends Error {}
const wrapped = (error: unknown) => ({ wrapped: error });

/** How many timers keep this process alive. */
function timers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
}

describe('StoreDeadline: one timer for the store calls started in the same millisecond (issue #5)', () => {
  it('a call that answers in time settles as it does, a failure through `fail`, and leaves no timer', async () => {
    const before = timers();
    const deadline = new StoreDeadline(1000, () => new Timeout());
    const from = Date.now();
    const calls = [
      deadline.race(Promise.resolve('a'), wrapped),
      deadline.race(Promise.resolve('b'), wrapped),
      deadline.race(Promise.reject(new Error('down')), wrapped),
    ];
    for (let i = 0; i < 100; i++) calls.push(deadline.race(Promise.resolve('more'), wrapped));
    const milliseconds = Date.now() - from + 1;
    const added = timers() - before;
    assert.ok(
      added >= 1 && added <= milliseconds,
      `${added} timers for calls of ${milliseconds} ms`,
    );
    const [a, b, failed] = await Promise.allSettled(calls);
    assert.deepEqual(
      [a, b],
      [
        { status: 'fulfilled', value: 'a' },
        { status: 'fulfilled', value: 'b' },
      ],
    );
    assert.equal(failed?.status, 'rejected');
    assert.match(
      String(((failed as PromiseRejectedResult).reason.wrapped as Error).message),
      /down/,
    );
    assert.equal(timers(), before, 'no timer is left to keep an idle process alive');
  });

  it('a call that does not answer rejects with the deadline’s error through `fail`, not before timeoutMs; a late answer is ignored', async () => {
    const deadline = new StoreDeadline(50, () => new Timeout('timed out'));
    let answer!: (value: string) => void;
    const started = performance.now();
    const slow = deadline.race(new Promise<string>((resolve) => (answer = resolve)), wrapped);
    const quick = deadline.race(Promise.resolve('quick'), wrapped);
    assert.equal(await quick, 'quick');
    const reason = await slow.then(
      () => assert.fail('answered'),
      (error: unknown) => error,
    );
    assert.ok(performance.now() - started >= 49, 'not before its deadline');
    assert.ok((reason as { wrapped: unknown }).wrapped instanceof Timeout);
    answer('late');
    await sleep(5);
  });

  it('a call started later is held to its own deadline, not an earlier call’s', async () => {
    const deadline = new StoreDeadline(60, () => new Timeout());
    const never = new Promise<never>(() => {});
    const first = deadline.race(never, wrapped).catch(() => performance.now());
    await sleep(40);
    let answer!: (value: string) => void;
    const second = deadline.race(new Promise<string>((resolve) => (answer = resolve)), wrapped);
    await first;
    // The first call's deadline has passed; the second, 40 ms younger, still has time.
    answer('in time');
    assert.equal(await second, 'in time');
  });

  it('a `fail` that throws rejects with what it threw', async () => {
    const deadline = new StoreDeadline(1000, () => new Timeout());
    const thrown = new Error('from fail');
    await assert.rejects(
      deadline.race(Promise.reject(new Error('down')), () => {
        throw thrown;
      }),
      (error) => error === thrown,
    );
  });
});
