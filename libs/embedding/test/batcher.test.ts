import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { CacheError } from '@llm-cache/core';
import { Batcher } from '../src/index.ts';

/** A Batcher doubling numbers that records every batch it was given. */
function recorder(options: { maxBatchSize: number; maxWaitMs: number; delayMs?: number; failIf?: (n: number) => boolean }) {
  const batches: number[][] = [];
  let active = 0;
  let maxActive = 0;
  const batcher = new Batcher<number, number>({
    maxBatchSize: options.maxBatchSize,
    maxWaitMs: options.maxWaitMs,
    run: async (items) => {
      batches.push([...items]);
      active += 1;
      maxActive = Math.max(maxActive, active);
      try {
        await sleep(options.delayMs ?? 1);
        if (options.failIf && items.some(options.failIf)) throw new Error(`boom in [${items.join(',')}]`);
        return items.map((n) => n * 2);
      } finally {
        active -= 1;
      }
    },
  });
  return { batcher, batches, maxActive: () => maxActive };
}

describe('Batcher', () => {
  it('coalesces concurrent submits into one run and returns each caller its own outputs', async () => {
    const { batcher, batches } = recorder({ maxBatchSize: 100, maxWaitMs: 5 });
    const results = await Promise.all([batcher.submit([1, 2]), batcher.submit([3]), batcher.submit([4, 5, 6])]);
    assert.deepEqual(results, [[2, 4], [6], [8, 10, 12]]);
    assert.equal(batches.length, 1);
    assert.deepEqual(batches[0], [1, 2, 3, 4, 5, 6]);
  });

  it('respects maxBatchSize, splits large submits and runs one batch at a time', async () => {
    const { batcher, batches, maxActive } = recorder({ maxBatchSize: 4, maxWaitMs: 2, delayMs: 3 });
    const inputs = Array.from({ length: 10 }, (_, i) => i);
    const [big, ...singles] = await Promise.all([batcher.submit(inputs), ...inputs.map((n) => batcher.submit([100 + n]))]);
    assert.deepEqual(
      big,
      inputs.map((n) => n * 2),
    );
    assert.deepEqual(
      singles,
      inputs.map((n) => [(100 + n) * 2]),
    );
    assert.ok(
      batches.every((b) => b.length <= 4),
      `batch sizes ${batches.map((b) => b.length)}`,
    );
    assert.equal(batches.flat().length, 20);
    assert.equal(batches.length, 5);
    assert.equal(maxActive(), 1);
  });

  it('runs a lone item after maxWaitMs without waiting for a full batch', async () => {
    const { batcher } = recorder({ maxBatchSize: 1000, maxWaitMs: 5 });
    const started = performance.now();
    assert.deepEqual(await batcher.submit([21]), [42]);
    assert.ok(performance.now() - started < 500);
  });

  it('rejects exactly the callers whose items were in the failing batch', async () => {
    const { batcher, batches } = recorder({ maxBatchSize: 3, maxWaitMs: 2, failIf: (n) => n === 13 });
    const settled = await Promise.allSettled([
      batcher.submit([1]),
      batcher.submit([2, 13]), // batch 1: [1, 2, 13] fails
      batcher.submit([3]), // batch 2: [3, 4, 5]
      batcher.submit([4, 5]),
    ]);
    assert.equal(settled[0].status, 'rejected');
    assert.equal(settled[1].status, 'rejected');
    assert.match(String((settled[1] as PromiseRejectedResult).reason), /boom/);
    assert.deepEqual(settled[2], { status: 'fulfilled', value: [6] });
    assert.deepEqual(settled[3], { status: 'fulfilled', value: [8, 10] });
    assert.deepEqual(batches, [
      [1, 2, 13],
      [3, 4, 5],
    ]);
  });

  it('drops the remaining items of a caller already rejected by an earlier batch', async () => {
    const { batcher, batches } = recorder({ maxBatchSize: 2, maxWaitMs: 1, failIf: (n) => n === 0 });
    const big = batcher.submit([0, 1, 2, 3, 4, 5]);
    const other = batcher.submit([7]);
    await assert.rejects(big, /boom/);
    assert.deepEqual(await other, [14]);
    assert.deepEqual(batches, [[0, 1], [7]]);
  });

  it('rejects when run returns the wrong number of outputs', async () => {
    const batcher = new Batcher<number, number>({ maxBatchSize: 8, maxWaitMs: 0, run: async () => [1] });
    await assert.rejects(batcher.submit([1, 2]), (e: unknown) => e instanceof CacheError && e.code === 'LLMCACHE_EMBEDDING');
  });

  it('close() drains queued items, then refuses new ones', async () => {
    const { batcher } = recorder({ maxBatchSize: 10, maxWaitMs: 1000 });
    const queued = batcher.submit([1, 2, 3]);
    await batcher.close();
    assert.deepEqual(await queued, [2, 4, 6]);
    await assert.rejects(batcher.submit([1]), (e: unknown) => e instanceof CacheError && !e.retryable);
  });
});
