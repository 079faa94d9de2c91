import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchQueueTimeoutError, TurnBatch } from '../src/stores/turn-batch.js';

describe('TurnBatch: the calls of one event-loop turn run together (issue #5 "batching")', () => {
  it('runs a turn once, answering each call its own output, in order', async () => {
    const runs: (readonly number[])[] = [];
    const batch = new TurnBatch<number, number>((inputs) => {
      runs.push(inputs);
      return inputs.map((n) => n * 10);
    });
    const outputs = await Promise.all([1, 2, 3].map((n) => batch.add(n)));
    assert.deepEqual(outputs, [10, 20, 30]);
    assert.deepEqual(runs, [[1, 2, 3]]);
    assert.equal(await batch.add(4), 40, 'a later turn is a batch of its own');
    assert.deepEqual(runs, [[1, 2, 3], [4]]);
  });

  it('a run that throws or rejects fails every call of its batch, and only those', async () => {
    let fail = true;
    const batch = new TurnBatch<string, string>(async (inputs) => {
      if (fail) throw new Error('store down');
      return inputs;
    });
    const failed = await Promise.allSettled([batch.add('a'), batch.add('b')]);
    assert.deepEqual(
      failed.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    fail = false;
    assert.equal(await batch.add('c'), 'c');
    const sync = new TurnBatch<string, string>(() => {
      throw new Error('locked');
    });
    await assert.rejects(sync.add('x'), /locked/);
  });

  it('flush() runs what is queued at once; calls made while a batch settles wait for the next', async () => {
    const runs: (readonly string[])[] = [];
    const batch = new TurnBatch<string, string>((inputs) => {
      runs.push(inputs);
      return inputs;
    });
    const first = batch.add('a');
    batch.flush();
    assert.deepEqual(runs, [['a']]);
    const second = first.then(() => batch.add('b'));
    assert.equal(await second, 'b');
    assert.deepEqual(runs, [['a'], ['b']]);
  });

  describe('with a concurrency limit (issue #5: fewer, larger statements under load)', () => {
    /** A batch runner whose runs end only when the test says so. */
    function gated() {
      const runs: (readonly number[])[] = [];
      const gates: (() => void)[] = [];
      const batch = (options: ConstructorParameters<typeof TurnBatch>[1]) =>
        new TurnBatch<number, number>(
          (inputs) =>
            new Promise((resolve) => {
              runs.push(inputs);
              gates.push(() => resolve(inputs.map((n) => n * 10)));
            }),
          options,
        );
      return { runs, gates, batch };
    }
    const turn = () => new Promise((resolve) => setImmediate(resolve));

    it('never runs more batches at once than the limit; the calls made meanwhile go in one batch when one ends', async () => {
      const { runs, gates, batch } = gated();
      const b = batch({ concurrency: 2 });
      const calls: Promise<number>[] = [b.add(1)];
      await turn();
      calls.push(b.add(2));
      await turn();
      assert.deepEqual(runs, [[1], [2]], 'two turns, two batches running');
      calls.push(b.add(3));
      await turn();
      calls.push(b.add(4), b.add(5));
      await turn();
      assert.equal(runs.length, 2, 'at the limit: the calls of two later turns wait');
      gates[0]!();
      await calls[0];
      await turn();
      assert.deepEqual(runs[2], [3, 4, 5], 'every waiting call in one batch');
      gates[1]!();
      gates[2]!();
      assert.deepEqual(await Promise.all(calls), [10, 20, 30, 40, 50]);
    });

    it('a batch that fails frees its place: the waiting calls still run', async () => {
      let fail = true;
      const runs: (readonly string[])[] = [];
      let release: () => void = () => {};
      const b = new TurnBatch<string, string>(
        (inputs) => {
          runs.push(inputs);
          if (fail) {
            fail = false;
            return new Promise((_, reject) => {
              release = () => reject(new Error('store down'));
            });
          }
          return inputs;
        },
        { concurrency: 1 },
      );
      const first = b.add('a');
      await turn();
      const second = b.add('b');
      await turn();
      assert.deepEqual(runs, [['a']]);
      release();
      await assert.rejects(first, /store down/);
      assert.equal(await second, 'b');
      assert.deepEqual(runs, [['a'], ['b']]);
    });

    it('a call that waits longer than queueTimeout is rejected and never run, so it cannot take effect after its caller gave up', async () => {
      const { runs, gates, batch } = gated();
      const b = batch({ concurrency: 1, queueTimeout: 50 });
      const first = b.add(1);
      await turn();
      const waiting = b.add(2);
      const started = performance.now();
      await assert.rejects(waiting, BatchQueueTimeoutError);
      const waited = performance.now() - started;
      assert.ok(waited >= 45 && waited < 1000, `rejected after ${waited.toFixed(0)} ms`);
      const late = b.add(3);
      gates[0]!();
      assert.equal(await first, 10);
      await turn();
      gates[1]?.();
      assert.equal(await late, 30, 'a call that did not wait too long runs');
      assert.deepEqual(runs, [[1], [3]], 'the timed-out call never reached the store');
    });
  });
});
