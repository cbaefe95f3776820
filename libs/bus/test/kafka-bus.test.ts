import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { CacheError } from '@llm-cache/core';
import { ALL_TOPICS, TOPICS, type CacheControlEvent, type DeadLetterEvent } from '@llm-cache/codec';
import { KafkaBus } from '@llm-cache/bus';
import { createLogger } from '@llm-cache/telemetry';
import { dropKafkaPrefix, requireServer, STACK, uniqueName } from '@llm-cache/testing';

const logger = createLogger({ level: 'silent' });
const control = (value: number): CacheControlEvent => ({ setting: 'THRESHOLD', value, at: Date.now(), origin: 'test' });

const waitFor = async (predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

async function freshBus(t: { after: (fn: () => Promise<void>) => void }, topicPrefix = uniqueName('t')): Promise<KafkaBus> {
  const bus = await KafkaBus.connect({
    brokers: [STACK.kafkaBrokers],
    clientId: 'llm-cache-test',
    registryUrl: STACK.registryUrl,
    partitions: 3,
    replicationFactor: 1,
    logger,
    topicPrefix: `${topicPrefix}.`,
    retry: { initialDelayMs: 10, maxAttempts: 3 },
  });
  t.after(async () => {
    await bus.close();
    await dropKafkaPrefix(`${topicPrefix}.`);
  });
  return bus;
}

describe('KafkaBus against a real Kafka and schema registry', () => {
  before(async () => {
    await requireServer('Kafka', STACK.kafkaBrokers);
    await requireServer('the schema registry', STACK.registryUrl);
  });

  it('registers a subject for every topic', async (t) => {
    const bus = await freshBus(t);
    for (const topic of ALL_TOPICS) {
      // Asked subject by subject: the registry's /subjects listing is capped (Apicurio: 1000 subjects).
      const latest = await fetch(`${STACK.registryUrl}/subjects/${encodeURIComponent(`${bus.physical(topic)}-value`)}/versions/latest`);
      assert.equal(latest.status, 200, `subject for ${topic}`);
      const { id } = (await latest.json()) as { id: number };
      assert.ok(id > 0);
      assert.equal(bus.schemaId(topic), id, `schema id for ${topic}`);
    }
  });

  it('refuses a record that does not match its schema, with a clear error', async (t) => {
    const bus = await freshBus(t);
    await assert.rejects(
      bus.publish(TOPICS.control, 'k', { setting: 'THRESHOLD', value: 'high', at: 1, origin: 'x' } as unknown as CacheControlEvent),
      (error: CacheError) => {
        assert.equal(error.code, 'LLMCACHE_CODEC');
        assert.match(error.message, /llmcache\.control-value: value/);
        return true;
      },
    );
  });

  it('delivers to every group, shares within a group, and carries on past poison records', async (t) => {
    const bus = await freshBus(t);
    const group = uniqueName('g');
    const a: number[] = [];
    const b: number[] = [];
    const dead: DeadLetterEvent[] = [];
    let transient = 0;
    await bus.subscribe({ group: `${group}-dlq`, handlers: { [TOPICS.deadLetter]: async (event) => void dead.push(event) } });
    await bus.subscribe({
      group: `${group}-a`,
      concurrency: 4,
      handlers: {
        [TOPICS.control]: async (event, meta) => {
          if (event.value === 0.5 && meta.attempt === 1) {
            transient++;
            throw new CacheError('LLMCACHE_STORAGE', 'store briefly unavailable');
          }
          if (event.value === 0.66) throw new CacheError('LLMCACHE_VALIDATION', 'permanent');
          a.push(event.value);
        },
      },
    });
    await bus.subscribe({ group: `${group}-b`, handlers: { [TOPICS.control]: async (event) => void b.push(event.value) } });
    for (let i = 0; i < 10; i++) await bus.publish(TOPICS.control, `key-${i}`, control(i / 10));
    await bus.publish(TOPICS.control, 'poison', control(0.66));
    await bus.publishRaw(TOPICS.control, 'garbage', Buffer.from('definitely not avro'));
    await bus.publish(TOPICS.control, 'after', control(0.99));
    await waitFor(() => a.length === 11 && b.length === 12 && dead.length === 3, 'deliveries').catch((e: Error) => {
      throw new Error(`${e.message}: a=${JSON.stringify(a)} b=${JSON.stringify(b)} dead=${dead.map((d) => d.errorCode + ':' + d.error)}`);
    });
    assert.equal(transient, 1, 'the retryable failure was redelivered once');
    assert.deepEqual([...a].sort(), [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.99]);
    // Each group dead-letters what it cannot handle: both groups refuse the garbage, only a refuses 0.66.
    assert.deepEqual(dead.map((d) => `${d.consumer}:${d.errorCode}`).sort(), [
      `${group}-a:LLMCACHE_CODEC`,
      `${group}-a:LLMCACHE_VALIDATION`,
      `${group}-b:LLMCACHE_CODEC`,
    ]);
    assert.ok(dead.every((d) => d.topic === TOPICS.control));
    assert.equal(dead.find((d) => d.key === 'garbage')?.value.toString(), 'definitely not avro');
  });

  it('resumes a group from its committed offsets, and replays from the beginning on request', async (t) => {
    const bus = await freshBus(t);
    const group = uniqueName('g');
    const first: number[] = [];
    const sub = await bus.subscribe({ group, handlers: { [TOPICS.control]: async (event) => void first.push(event.value) } });
    for (let i = 0; i < 5; i++) await bus.publish(TOPICS.control, 'k', control(i));
    await waitFor(() => first.length === 5, 'first deliveries');
    await sub.close();
    for (let i = 5; i < 8; i++) await bus.publish(TOPICS.control, 'k', control(i));
    const resumed: number[] = [];
    await bus.subscribe({ group, handlers: { [TOPICS.control]: async (event) => void resumed.push(event.value) } });
    await waitFor(() => resumed.length >= 3, 'resumed deliveries');
    assert.deepEqual(resumed, [5, 6, 7]);
    const replayed: number[] = [];
    await bus.subscribe({
      group: uniqueName('replay'),
      fromBeginning: true,
      handlers: { [TOPICS.control]: async (event) => void replayed.push(event.value) },
    });
    await waitFor(() => replayed.length === 8, 'replay');
    assert.deepEqual(replayed, [0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('reports the lag of its groups: events waiting while a consumer is stuck, none once it catches up', async (t) => {
    const bus = await freshBus(t);
    const group = uniqueName('lag');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let handled = 0;
    await bus.subscribe({
      group,
      handlers: {
        [TOPICS.control]: async (event) => {
          if (event.value > 0) await gate;
          handled++;
        },
      },
    });
    const lagOf = async (): Promise<number> =>
      (await bus.lag()).filter((l) => l.group === group && l.topic === TOPICS.control).reduce((sum, l) => sum + l.lag, 0);
    const until = async (accept: (lag: number) => boolean): Promise<number> => {
      const deadline = Date.now() + 20_000;
      let lag = await lagOf();
      while (!accept(lag) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        lag = await lagOf();
      }
      return lag;
    };
    try {
      // One event handled and committed: the group has a position to count from.
      await bus.publish(TOPICS.control, 'one-key', control(0));
      await waitFor(() => handled === 1, 'the first event');
      assert.ok(
        (await bus.lag()).some((l) => l.group === group),
        'the group is reported',
      );
      // The next event sticks in the handler, the ones behind it wait.
      for (let i = 1; i <= 6; i++) await bus.publish(TOPICS.control, 'one-key', control(i));
      const stuck = await until((lag) => lag >= 6);
      assert.ok(stuck >= 6, `lag while stuck: ${stuck}`);
    } finally {
      release();
    }
    await waitFor(() => handled === 7, 'the backlog handled');
    assert.equal(await until((lag) => lag === 0), 0, 'no lag once the group has committed everything');
  });
});
