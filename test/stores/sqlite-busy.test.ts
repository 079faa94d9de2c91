import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BusyQueue, blockWhileBusy, isBusy } from '../../src/stores/sqlite/sqlite-busy.js';

/** What better-sqlite3 throws while another connection holds the lock. */
const busy = () => Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });

/** A write refused `times` times, then answering `value`; counts its attempts. */
function refusedThen<T>(times: number, value: T) {
  const write = () => {
    write.calls++;
    if (write.calls <= times) throw busy();
    return value;
  };
  write.calls = 0;
  return write;
}

// Carried item: SQLite's busy wait held the event loop; these pin the queue's contract.
describe("BusyQueue: writes waiting for another connection's SQLite lock", () => {
  it('a write that goes through answers synchronously, not a promise (no cost when uncontended)', () => {
    assert.equal(
      new BusyQueue(1000).run(() => 7),
      7,
    );
  });

  it('a refused write is tried again on timers until it goes through', async () => {
    const write = refusedThen(3, 'done');
    const answer = new BusyQueue(2000).run(write);
    assert.ok(answer instanceof Promise);
    assert.equal(await answer, 'done');
    assert.equal(write.calls, 4);
  });

  it('writes that come while one waits are not tried until it is done, and keep their order', async () => {
    const queue = new BusyQueue(2000);
    const order: string[] = [];
    const head = refusedThen(3, 'head');
    const first = queue.run(() => {
      const value = head();
      order.push(value);
      return value;
    });
    const later = Array.from({ length: 5 }, (_, i) =>
      queue.run(() => {
        order.push(`w${i}`);
        return i;
      }),
    );
    assert.deepEqual(order, [], 'nothing behind the waiting write ran at once');
    assert.equal(await first, 'head');
    assert.deepEqual(await Promise.all(later), [0, 1, 2, 3, 4]);
    assert.deepEqual(order, ['head', 'w0', 'w1', 'w2', 'w3', 'w4']);
    assert.equal(
      queue.run(() => 'free'),
      'free',
      'once drained, synchronous again',
    );
  });

  it("past its timeout a write rejects with SQLite's busy error; one queued past its own is never tried", async () => {
    const queue = new BusyQueue(60);
    const head = refusedThen(Number.POSITIVE_INFINITY, 'never');
    const behind = refusedThen(0, 'never either');
    const started = Date.now();
    const first = queue.run(head);
    const second = queue.run(behind);
    await assert.rejects(
      async () => first,
      (error: unknown) => isBusy(error),
    );
    await assert.rejects(
      async () => second,
      (error: unknown) => isBusy(error),
    );
    assert.ok(Date.now() - started >= 50, 'it waited');
    assert.equal(behind.calls, 0, 'the queued write was never run: nothing written');
  });

  it('any other error is not retried', async () => {
    let calls = 0;
    assert.throws(
      () =>
        new BusyQueue(1000).run(() => {
          calls++;
          throw new Error('constraint failed');
        }),
      /constraint failed/,
    );
    assert.equal(calls, 1);
  });

  it('a busy timeout of 0 fails at once, as SQLite would', () => {
    assert.throws(
      () => new BusyQueue(0).run(refusedThen(1, 'x')),
      (error) => isBusy(error),
    );
  });

  it('blockWhileBusy, for the synchronous methods, retries in place and gives up at its timeout', () => {
    const write = refusedThen(2, 'ok');
    assert.equal(blockWhileBusy(write, 1000), 'ok');
    assert.equal(write.calls, 3);
    const started = Date.now();
    assert.throws(
      () => blockWhileBusy(refusedThen(Number.POSITIVE_INFINITY, 'x'), 30),
      (error) => isBusy(error),
    );
    assert.ok(Date.now() - started >= 30);
  });
});
