import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LookoutError } from '../errors.js';
import { Batcher } from './batcher.js';

/** A flush whose calls the test completes by hand, in any order. */
function manualFlush() {
  const calls: { rows: number[]; resolve: () => void; reject: (e: Error) => void }[] = [];
  const flush = (rows: number[]) =>
    new Promise<void>((resolve, reject) => {
      calls.push({ rows, resolve, reject });
    });
  return { calls, flush };
}

const tick = () => new Promise((r) => setImmediate(r));

function settledState(promise: Promise<unknown>): { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } {
  const box: { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } = { state: 'pending' };
  promise.then(
    () => (box.state = 'resolved'),
    (error: unknown) => {
      box.state = 'rejected';
      box.error = error;
    },
  );
  return box;
}

describe('Batcher', () => {
  it('acknowledges a request only once its rows are stored, and groups rows that arrive meanwhile', async () => {
    const { calls, flush } = manualFlush();
    const batcher = new Batcher<number>({ name: 't', maxBatchRows: 100, maxPendingRows: 1000, flush });
    const a = settledState(batcher.submit([1, 2]));
    const b = settledState(batcher.submit([3]));
    const c = settledState(batcher.submit([4, 5]));
    await tick();
    assert.deepEqual(calls.map((c) => c.rows), [[1, 2]]);
    assert.equal(batcher.pendingRows, 5);
    calls[0]!.resolve();
    await tick();
    assert.equal(a.state, 'resolved');
    assert.equal(b.state, 'pending');
    assert.deepEqual(calls[1]!.rows, [3, 4, 5]);
    calls[1]!.resolve();
    await tick();
    assert.equal(b.state, 'resolved');
    assert.equal(c.state, 'resolved');
    assert.equal(batcher.pendingRows, 0);
  });

  it('splits a request over batches and resolves it when its last row is stored', async () => {
    const { calls, flush } = manualFlush();
    const batcher = new Batcher<number>({ name: 't', maxBatchRows: 2, maxPendingRows: 1000, flush });
    const a = settledState(batcher.submit([1, 2, 3, 4, 5]));
    await tick();
    calls[0]!.resolve();
    await tick();
    calls[1]!.resolve();
    await tick();
    assert.equal(a.state, 'pending');
    assert.deepEqual(calls[2]!.rows, [5]);
    calls[2]!.resolve();
    await tick();
    assert.equal(a.state, 'resolved');
  });

  it('refuses a request up front when the pending bound would be exceeded', async () => {
    const { calls, flush } = manualFlush();
    const batcher = new Batcher<number>({ name: 'metrics', maxBatchRows: 10, maxPendingRows: 3, flush, retryAfterSeconds: 2 });
    void batcher.submit([1, 2]);
    assert.equal(batcher.saturated, false);
    await assert.rejects(batcher.submit([3, 4]), (error: unknown) => {
      assert.ok(error instanceof LookoutError);
      assert.equal(error.code, 'LOOKOUT_ERR_PIPELINE_OVERLOADED');
      assert.equal(error.retryAfterSeconds, 2);
      return true;
    });
    void batcher.submit([3]);
    assert.equal(batcher.saturated, true);
    await tick();
    calls[0]!.resolve();
    await tick();
    calls[1]!.resolve();
    await batcher.drain();
  });

  it('fails every request with a row in a failed batch and drops their queued rows', async () => {
    const { calls, flush } = manualFlush();
    const batcher = new Batcher<number>({ name: 't', maxBatchRows: 3, maxPendingRows: 1000, flush });
    const first = batcher.submit([0]);
    const a = settledState(batcher.submit([1, 2]));
    const b = settledState(batcher.submit([3, 4, 5]));
    const c = settledState(batcher.submit([6]));
    await tick();
    calls[0]!.resolve();
    await first;
    await tick();
    assert.deepEqual(calls[1]!.rows, [1, 2, 3]);
    calls[1]!.reject(new Error('disk full'));
    await tick();
    assert.equal(a.state, 'rejected');
    assert.equal(b.state, 'rejected');
    assert.equal((a.error as LookoutError).code, 'LOOKOUT_ERR_STORAGE_UNAVAILABLE');
    assert.match((a.error as Error).message, /disk full/);
    // b's rows 4 and 5 are not stored after b was refused; c goes on.
    assert.deepEqual(calls[2]!.rows, [6]);
    calls[2]!.resolve();
    await tick();
    assert.equal(c.state, 'resolved');
    assert.equal(batcher.pendingRows, 0);
  });

  it('with maxInFlight 2 stores two batches at once and attributes rows when they finish out of order', async () => {
    const { calls, flush } = manualFlush();
    const batcher = new Batcher<number>({ name: 't', maxBatchRows: 2, maxPendingRows: 1000, maxInFlight: 2, flush });
    const a = settledState(batcher.submit([1, 2, 3]));
    const b = settledState(batcher.submit([4]));
    const c = settledState(batcher.submit([5]));
    await tick();
    // The second slot takes the rest of a at once; b and c wait for a free slot.
    assert.deepEqual(calls.map((c) => c.rows), [[1, 2], [3]]);
    calls[1]!.resolve();
    await tick();
    assert.equal(a.state, 'pending');
    assert.deepEqual(calls[2]!.rows, [4, 5]);
    calls[2]!.resolve();
    await tick();
    assert.equal(b.state, 'resolved');
    assert.equal(c.state, 'resolved');
    assert.equal(a.state, 'pending');
    calls[0]!.resolve();
    await tick();
    assert.equal(a.state, 'resolved');
    assert.equal(batcher.pendingRows, 0);
  });

  it('close stores what was accepted, then refuses', async () => {
    const stored: number[] = [];
    const batcher = new Batcher<number>({
      name: 't',
      maxBatchRows: 2,
      maxPendingRows: 100,
      maxInFlight: 2,
      flush: async (rows) => {
        await new Promise((r) => setTimeout(r, 5));
        stored.push(...rows);
      },
    });
    const writes = [batcher.submit([1, 2, 3]), batcher.submit([4, 5])];
    await batcher.close();
    assert.deepEqual(stored.sort(), [1, 2, 3, 4, 5]);
    await Promise.all(writes);
    await assert.rejects(batcher.submit([6]), /shutting down/);
  });
});
