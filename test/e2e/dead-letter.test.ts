import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { ALL_TOPICS, TOPICS, type CacheRequestEvent, type CacheWriteEvent, type DeadLetterEvent, type Topic } from '@llm-cache/codec';
import { postJson } from '../helpers/cache-process.ts';
import { clusterBus, freshDistributedEnv, startDistributedCluster } from '../helpers/distributed-cluster.ts';

/** Which service's consumer group reads each topic (a gateway's group ends in its instance id). */
const CONSUMERS: Partial<Record<Topic, RegExp[]>> = {
  [TOPICS.requests]: [/^llmcache-embedder$/],
  [TOPICS.embedded]: [/^llmcache-matcher$/],
  [TOPICS.writes]: [/^llmcache-writer$/],
  [TOPICS.hits]: [/^llmcache-evictor$/, /^llmcache-gateway-/],
  [TOPICS.misses]: [/^llmcache-gateway-/],
  [TOPICS.stored]: [/^llmcache-gateway-/],
  [TOPICS.evictions]: [/^llmcache-gateway-/],
  [TOPICS.control]: [/^llmcache-gateway-/, /^llmcache-matcher-settings-/],
  [TOPICS.outcomes]: [/^llmcache-writer-outcomes$/],
};

test('a malformed event on each topic goes to the dead-letter topic and every service carries on', async (t) => {
  const env = freshDistributedEnv();
  const bus = await clusterBus(t, env);
  const cluster = await startDistributedCluster(env);
  t.after(() => cluster.destroy());
  const dead: DeadLetterEvent[] = [];
  await bus.subscribe({
    group: `dlq-reader-${randomUUID()}`,
    fromBeginning: true,
    ephemeral: true,
    handlers: { [TOPICS.deadLetter]: async (event) => void dead.push(event) },
  });

  const consumed = Object.keys(CONSUMERS) as Topic[];
  assert.deepEqual(
    [...consumed].sort(),
    ALL_TOPICS.filter((topic) => topic !== TOPICS.deadLetter).sort(),
    'every topic but the dead-letter one is checked',
  );
  // A gateway reads one partition of hits and misses (the one its replies go to): garbage on each reaches it.
  const partitions = Number(env.LLMCACHE_KAFKA_PARTITIONS);
  for (const topic of consumed) {
    const spread = topic === TOPICS.hits || topic === TOPICS.misses;
    for (let partition = 0; partition < (spread ? partitions : 1); partition++) {
      await bus.publishRaw(topic, `garbage-${topic}`, Buffer.from(`not an Avro record for ${topic}`), spread ? { partition } : {});
    }
  }
  // Valid Avro, but a vector the configured store refuses (3 dimensions, not 384): a handler failure, not a decode one.
  const badWrite: CacheWriteEvent = {
    entryId: `e-${randomUUID()}`,
    requestId: randomUUID(),
    replyTo: null,
    scopeKey: 'bad-vector',
    tenant: 'default',
    namespace: 'default',
    model: 'default',
    paramsHash: 'none',
    contextHash: 'none',
    prompt: 'a write with a wrong vector',
    response: 'never stored',
    tags: [],
    createdAt: Date.now(),
    expiresAt: null,
    embeddingModel: 'test',
    vector: [1, 0, 0],
  };
  await bus.publish(TOPICS.writes, 'bad-vector', badWrite);
  // A lookup produced with more text than the embedding model reads: refused, never matched on its start.
  const longText = Array.from({ length: 80 }, (_, i) => `Sentence ${i} of a long shared context about region ${i % 7}.`).join(' ');
  const longLookup: CacheRequestEvent = {
    requestId: randomUUID(),
    kind: 'LOOKUP',
    replyTo: null,
    scopeKey: 'too-long',
    tenant: 'default',
    namespace: 'default',
    model: 'default',
    paramsHash: 'none',
    contextHash: '',
    text: `${longText} What was the total revenue?`,
    threshold: null,
    minCreatedAt: null,
    sentAt: Date.now(),
    store: null,
  };
  await bus.publish(TOPICS.requests, 'too-long', longLookup);

  const expected = consumed.flatMap((topic) => (CONSUMERS[topic] ?? []).map((group) => ({ topic, group })));
  const deadline = Date.now() + 60_000;
  const missing = (): string[] =>
    expected
      .filter(
        ({ topic, group }) =>
          !dead.some(
            (d) => d.topic === topic && group.test(d.consumer) && d.key === `garbage-${topic}` && d.errorCode === 'LLMCACHE_CODEC',
          ),
      )
      .map(({ topic, group }) => `${topic} by ${group}`);
  const settled = (): boolean => dead.some((d) => d.key === 'bad-vector') && dead.some((d) => d.key === 'too-long');
  while ((missing().length > 0 || !settled()) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.deepEqual(missing(), [], `dead letters seen: ${dead.map((d) => `${d.topic}/${d.consumer}/${d.errorCode}`).join(', ')}`);
  const badVector = dead.find((d) => d.key === 'bad-vector');
  assert.ok(badVector, 'the write with a wrong vector was dead-lettered');
  assert.equal(badVector.topic, TOPICS.writes);
  assert.match(badVector.consumer, /^llmcache-writer$/);
  assert.notEqual(badVector.errorCode, 'LLMCACHE_CODEC');
  const tooLong = dead.find((d) => d.key === 'too-long');
  assert.ok(tooLong, 'the lookup with more text than the model reads was dead-lettered');
  assert.match(tooLong.consumer, /^llmcache-embedder$/);
  assert.equal(tooLong.errorCode, 'LLMCACHE_VALIDATION');
  assert.match(tooLong.error, /longer than the embedding model's window of 128 tokens/);
  for (const letter of dead.filter((d) => d.key?.startsWith('garbage-'))) {
    assert.match(letter.value.toString(), /^not an Avro record for /, 'the original bytes are kept for inspection');
  }

  // Every stage still works: a store goes through embedder and writer, a lookup through matcher and gateway.
  const url = cluster.urls[0] as string;
  const stored = await postJson(`${url}/v1/cache/entries?wait=true`, { prompt: 'Is the pipeline still alive?', response: 'Yes.' });
  assert.equal(stored.status, 201, JSON.stringify(stored.body));
  // A paraphrase, so the answer comes from the matcher, not the gateway's exact tier.
  const hit = await postJson(`${url}/v1/cache/lookup`, { prompt: 'Is the pipeline still alive now?' });
  assert.equal(hit.status, 200);
  assert.equal(hit.body.hit, true, JSON.stringify(hit.body));
  assert.equal(hit.body.tier, 'semantic');
});
