import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CacheError } from '@llm-cache/core';
import { TOPICS, type CacheControlEvent, type DeadLetterEvent } from '@llm-cache/codec';
import { MemoryBus } from '@llm-cache/bus';

const control = (value: number): CacheControlEvent => ({ setting: 'THRESHOLD', value, at: Date.now(), origin: 'test' });

const waitFor = async (predicate: () => boolean, timeoutMs = 2000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

test('each group gets every event once, members of a group share them', async (t) => {
  const bus = new MemoryBus({ partitions: 4 });
  t.after(() => bus.close());
  const seen = { a1: [] as number[], a2: [] as number[], b: [] as number[] };
  await bus.subscribe({ group: 'a', handlers: { [TOPICS.control]: async (e) => void seen.a1.push(e.value) } });
  await bus.subscribe({ group: 'a', handlers: { [TOPICS.control]: async (e) => void seen.a2.push(e.value) } });
  await bus.subscribe({ group: 'b', handlers: { [TOPICS.control]: async (e) => void seen.b.push(e.value) } });
  for (let i = 0; i < 40; i++) await bus.publish(TOPICS.control, `key-${i}`, control(i / 100));
  await waitFor(() => seen.b.length === 40 && seen.a1.length + seen.a2.length === 40);
  assert.deepEqual([...seen.a1, ...seen.a2].sort(), [...seen.b].sort());
  assert.ok(seen.a1.length > 0 && seen.a2.length > 0, 'both members of group a got a share');
});

test('events of one key keep their order', async (t) => {
  const bus = new MemoryBus({ partitions: 4 });
  t.after(() => bus.close());
  const seen: number[] = [];
  await bus.subscribe({
    group: 'g',
    handlers: {
      [TOPICS.control]: async (e) => {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
        seen.push(e.value);
      },
    },
  });
  for (let i = 0; i < 20; i++) await bus.publish(TOPICS.control, 'same-key', control(i));
  await waitFor(() => seen.length === 20);
  assert.deepEqual(
    seen,
    Array.from({ length: 20 }, (_, i) => i),
  );
});

test('a record that breaks the schema is refused on publish', async (t) => {
  const bus = new MemoryBus();
  t.after(() => bus.close());
  await assert.rejects(
    bus.publish(TOPICS.control, 'k', { setting: 'THRESHOLD', value: 'high' } as unknown as CacheControlEvent),
    (error: CacheError) => {
      assert.equal(error.code, 'LLMCACHE_CODEC');
      assert.match(error.message, /llmcache\.control-value/);
      assert.match(error.message, /value/);
      return true;
    },
  );
});

test('retryable failures are redelivered, others and malformed bytes go to the dead-letter topic', async (t) => {
  const bus = new MemoryBus({ retry: { initialDelayMs: 1, maxAttempts: 3 } });
  t.after(() => bus.close());
  const dead: DeadLetterEvent[] = [];
  const handled: number[] = [];
  let failures = 0;
  await bus.subscribe({ group: 'dlq', handlers: { [TOPICS.deadLetter]: async (e) => void dead.push(e) } });
  await bus.subscribe({
    group: 'worker',
    handlers: {
      [TOPICS.control]: async (e, meta) => {
        if (e.value === 0.1 && meta.attempt < 2) {
          failures++;
          throw new CacheError('LLMCACHE_STORAGE', 'transient');
        }
        if (e.value === 0.2) throw new CacheError('LLMCACHE_VALIDATION', 'permanent');
        handled.push(e.value);
      },
    },
  });
  await bus.publish(TOPICS.control, 'k', control(0.1));
  await bus.publish(TOPICS.control, 'k', control(0.2));
  await bus.publishRaw(TOPICS.control, 'k', Buffer.from('not avro at all'));
  await bus.publish(TOPICS.control, 'k', control(0.3));
  await waitFor(() => dead.length === 2 && handled.length === 2);
  assert.equal(failures, 1);
  assert.deepEqual(handled, [0.1, 0.3], 'the consumer carried on after the poison records');
  assert.deepEqual(dead.map((d) => d.errorCode).sort(), ['LLMCACHE_CODEC', 'LLMCACHE_VALIDATION']);
  assert.ok(dead.every((d) => d.topic === TOPICS.control && d.consumer === 'worker'));
});

test('a reply subscription reads every partition here, and a named partition must exist', async (t) => {
  const bus = new MemoryBus({ partitions: 4 });
  t.after(() => bus.close());
  const seen: Array<{ value: number; partition: number }> = [];
  const subscription = await bus.subscribe({
    group: 'gw',
    ephemeral: true,
    replyTopics: [TOPICS.control],
    handlers: { [TOPICS.control]: async (e, meta) => void seen.push({ value: e.value, partition: meta.partition }) },
  });
  assert.equal(subscription.replyPartition, undefined);
  await bus.publish(TOPICS.control, 'k', control(0.3), { partition: 3 });
  await waitFor(() => seen.length === 1);
  assert.deepEqual(seen, [{ value: 0.3, partition: 3 }]);
  await assert.rejects(bus.publish(TOPICS.control, 'k', control(0.4), { partition: 4 }), /llmcache\.control has no partition 4/);
});
