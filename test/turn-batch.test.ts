import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TurnBatch } from '../src/stores/turn-batch.js';

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
});
