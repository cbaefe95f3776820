import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TOPICS, type Topic } from '@llm-cache/codec';
import { uniqueName } from '@llm-cache/testing';
import { postJson } from '../helpers/cache-process.ts';
import { clusterBus, freshDistributedEnv, startDistributedCluster } from '../helpers/distributed-cluster.ts';

interface Outcome {
  topic: Topic;
  requestId: string;
  replyTo: string | null;
  partition: number;
}

const LOOKUPS_PER_GATEWAY = 8;

/** Bus events a gateway handled, by topic, from its /metrics. */
async function handledEvents(url: string): Promise<Partial<Record<Topic, number>>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const counts: Partial<Record<Topic, number>> = {};
  for (const match of text.matchAll(/^llmcache_bus_events_total\{([^}]*)\} (\d+)/gm)) {
    const labels = match[1] ?? '';
    const topic = /topic="([^"]+)"/.exec(labels)?.[1] as Topic | undefined;
    if (topic && labels.includes('result="ok"')) counts[topic] = (counts[topic] ?? 0) + Number(match[2]);
  }
  return counts;
}

test('each gateway reads only the partition of hits and misses its replies go to; stream readers still see every outcome', async (t) => {
  const env = freshDistributedEnv(); // 4 partitions a topic
  // An analytics consumer in a group of its own: it must see every outcome, whichever gateway asked.
  const bus = await clusterBus(t, env);
  const cluster = await startDistributedCluster(env, { gateways: 2, matchers: 1 });
  t.after(() => cluster.destroy());
  const outcomes: Outcome[] = [];
  await bus.subscribe({
    group: uniqueName('analytics'),
    ephemeral: true,
    fromBeginning: true,
    handlers: {
      [TOPICS.hits]: async (event, meta) => void outcomes.push({ topic: TOPICS.hits, ...event, partition: meta.partition }),
      [TOPICS.misses]: async (event, meta) => void outcomes.push({ topic: TOPICS.misses, ...event, partition: meta.partition }),
    },
  });

  const [first, second] = cluster.urls as [string, string];
  const stored = await postJson(`${first}/v1/cache/entries?wait=true`, {
    prompt: 'How do I reverse a list in Python?',
    response: 'my_list[::-1]',
  });
  assert.equal(stored.status, 201, JSON.stringify(stored.body));

  // Distinct texts, so every lookup goes through the pipeline: half paraphrases (hits), half unrelated (misses).
  const asked = new Map<string, string[]>([
    [first, []],
    [second, []],
  ]);
  for (const [g, url] of [first, second].entries()) {
    for (let i = 0; i < LOOKUPS_PER_GATEWAY; i++) {
      const hit = i % 2 === 0;
      const prompt = hit
        ? `What is the way to reverse a Python list? (variant ${g * 100 + i})`
        : `Which river flows through Vienna, case ${g}-${i}?`;
      const lookup = await postJson(`${url}/v1/cache/lookup`, { prompt });
      assert.equal(lookup.status, 200);
      assert.equal(lookup.body.hit, hit, `${prompt}: ${JSON.stringify(lookup.body)}`);
      asked.get(url)?.push(lookup.headers.get('x-llmcache-request-id') ?? '');
    }
  }
  assert.doesNotMatch(cluster.output(), /lookup timed out/, 'every miss came from the matcher, none from a timeout');

  const total = 2 * LOOKUPS_PER_GATEWAY;
  const deadline = Date.now() + 20_000;
  while (outcomes.length < total && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(outcomes.length, total, 'the analytics group saw every outcome once');

  const partitions: number[] = [];
  for (const url of [first, second]) {
    const ids = asked.get(url) ?? [];
    const mine = outcomes.filter((outcome) => ids.includes(outcome.requestId));
    assert.equal(mine.length, LOOKUPS_PER_GATEWAY, `every lookup through ${url} has its outcome`);
    const replyTo = new Set(mine.map((outcome) => outcome.replyTo));
    const partition = new Set(mine.map((outcome) => outcome.partition));
    assert.equal(replyTo.size, 1, `one reply address per gateway: ${[...replyTo].join(', ')}`);
    assert.equal(partition.size, 1, `the replies to ${url} share one partition`);
    const [address] = [...replyTo];
    const [at] = [...partition] as [number];
    assert.match(address ?? '', new RegExp(`^gw-.+#${at}$`), 'the address names the partition its replies went to');
    partitions.push(at);
  }
  assert.notEqual(partitions[0], partitions[1], 'the second gateway took a partition the first does not read');

  // What each gateway's consumer handled: the outcomes on its partition, its own, never the other's.
  const [firstPartition, secondPartition] = partitions as [number, number];
  for (const [url, partition] of [
    [first, firstPartition],
    [second, secondPartition],
  ] as const) {
    const onPartition = outcomes.filter((outcome) => outcome.partition === partition);
    let handled = await handledEvents(url);
    const read = (): number => (handled[TOPICS.hits] ?? 0) + (handled[TOPICS.misses] ?? 0);
    for (let tries = 0; read() < onPartition.length && tries < 50; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      handled = await handledEvents(url);
    }
    assert.equal(read(), onPartition.length, `${url} handled exactly the outcomes on partition ${partition}`);
    assert.equal(read(), LOOKUPS_PER_GATEWAY, `${url} read its own ${LOOKUPS_PER_GATEWAY} outcomes`);
    assert.ok(read() < total, `${url} read ${read()} of the ${total} outcomes`);
    // Stored acknowledgements stay broadcast: every gateway drops stale exact-tier entries by them.
    assert.equal(handled[TOPICS.stored], 1, `${url} saw the stored acknowledgement`);
  }
});
