import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { CacheError } from '@llm-cache/core';
import { ALL_TOPICS, TOPICS, type CacheControlEvent, type CacheHitEvent, type DeadLetterEvent } from '@llm-cache/codec';
import { KafkaBus, replyAddress, replyOptions, type Subscription } from '@llm-cache/bus';
import { createLogger } from '@llm-cache/telemetry';
import { dropKafkaPrefix, requireServer, STACK, uniqueName } from '@llm-cache/testing';

const logger = createLogger({ level: 'silent' });
const control = (value: number): CacheControlEvent => ({ setting: 'THRESHOLD', value, at: Date.now(), origin: 'test' });

const hit = (requestId: string, replyTo: string | null): CacheHitEvent => ({
  requestId,
  replyTo,
  scopeKey: `scope-${requestId}`,
  tenant: 'default',
  namespace: 'default',
  model: 'default',
  paramsHash: 'none',
  contextHash: '',
  entryId: `entry-${requestId}`,
  score: 0.9,
  response: 'an answer',
  responseRef: null,
  entryCreatedAt: 1,
  entryExpiresAt: null,
  decidedAt: 2,
  hitCount: 1,
});

const waitFor = async (predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

async function freshBus(t: { after: (fn: () => Promise<void>) => void }, topicPrefix = uniqueName('t'), partitions = 3): Promise<KafkaBus> {
  const bus = await KafkaBus.connect({
    brokers: [STACK.kafkaBrokers],
    clientId: 'llm-cache-test',
    registryUrl: STACK.registryUrl,
    partitions,
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

  it("reads one partition of reply topics, the one no other reply group reads, and the rest of a reply group's topics whole", async (t) => {
    const bus = await freshBus(t, uniqueName('t'), 2);
    type Seen = { requestId: string; partition: number };
    const replyGroup = async (seen: Seen[], controls: number[]): Promise<Subscription> =>
      bus.subscribe({
        group: uniqueName('gw'),
        ephemeral: true,
        replyTopics: [TOPICS.hits, TOPICS.misses],
        handlers: {
          [TOPICS.hits]: async (event, meta) => void seen.push({ requestId: event.requestId, partition: meta.partition }),
          [TOPICS.misses]: async () => undefined,
          [TOPICS.control]: async (event) => void controls.push(event.value),
        },
      });
    const a: Seen[] = [];
    const b: Seen[] = [];
    const all: Seen[] = [];
    const aControls: number[] = [];
    const bControls: number[] = [];
    const subA = await replyGroup(a, aControls);
    const subB = await replyGroup(b, bControls);
    await bus.subscribe({
      group: uniqueName('analytics'),
      ephemeral: true,
      handlers: { [TOPICS.hits]: async (event, meta) => void all.push({ requestId: event.requestId, partition: meta.partition }) },
    });
    assert.ok(subA.replyPartition !== undefined && subB.replyPartition !== undefined, 'both read one partition');
    assert.notEqual(subA.replyPartition, subB.replyPartition, 'the second reader takes the partition nobody reads');
    const toA = replyAddress('gw-a', subA.replyPartition);
    const toB = replyAddress('gw-b', subB.replyPartition);
    for (let i = 0; i < 6; i++) {
      await bus.publish(TOPICS.hits, `scope-${i}`, hit(`a-${i}`, toA), replyOptions(toA));
      await bus.publish(TOPICS.hits, `scope-${i}`, hit(`b-${i}`, toB), replyOptions(toB));
      // A stream lookup's outcome: no address, so it goes by its key to any partition.
      await bus.publish(TOPICS.hits, `scope-${i}`, hit(`stream-${i}`, null), replyOptions(null));
    }
    await bus.publish(TOPICS.control, 'threshold', control(0.8));
    await waitFor(() => all.length === 18 && a.length + b.length === 18 && aControls.length === 1 && bControls.length === 1, 'replies');
    const ids = (seen: Seen[]): string[] => seen.map((one) => one.requestId).sort();
    const on = (partition: number | undefined): Seen[] => all.filter((one) => one.partition === partition);
    assert.equal(new Set(all.map((one) => one.partition)).size, 2, 'a plain group reads every partition');
    assert.deepEqual(ids(a), ids(on(subA.replyPartition)), 'a reply group reads its own partition only');
    assert.deepEqual(ids(b), ids(on(subB.replyPartition)));
    assert.deepEqual(
      ids(a).filter((id) => !id.startsWith('stream-')),
      ['a-0', 'a-1', 'a-2', 'a-3', 'a-4', 'a-5'],
      'every reply to a, and no reply to b',
    );

    // A reader that stops leaves its partition to the next one, which starts at the end of it.
    const freed = subA.replyPartition;
    await subA.close();
    const c: Seen[] = [];
    const subC = await replyGroup(c, []);
    assert.equal(subC.replyPartition, freed);
    const toC = replyAddress('gw-c', subC.replyPartition);
    await bus.publish(TOPICS.hits, 'scope-c', hit('c-0', toC), replyOptions(toC));
    await waitFor(() => c.length === 1, "the new reader's reply");
    assert.deepEqual(
      c.map((seen) => seen.requestId),
      ['c-0'],
    );

    await assert.rejects(bus.publish(TOPICS.hits, 'k', hit('nowhere', 'gw-x#7'), replyOptions('gw-x#7')), (error: CacheError) => {
      assert.equal(error.code, 'LLMCACHE_VALIDATION');
      assert.match(error.message, /llmcache\.hits has no partition 7 \(it has 2\)/);
      return true;
    });
  });
});
