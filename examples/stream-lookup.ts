/**
 * Using LLM-Cache as a stream: store an answer and look a paraphrase up by producing Avro records to
 * the request topic and consuming the hit/miss topics, with plain kafkajs and the schema registry
 * client (no LLM-Cache runtime involved). Run against a distributed cache:
 *
 *   node --import tsx examples/stream-lookup.ts "How do I reverse a list in Python?" "What's the way to reverse a Python list?"
 *
 * Settings come from the same variables as the services: LLMCACHE_KAFKA_BROKERS,
 * LLMCACHE_KAFKA_REGISTRY_URL, LLMCACHE_KAFKA_TOPIC_PREFIX.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { entryIdOf, hashParams, normalizeText, scopeKeyOf, type Scope } from '@llm-cache/core';

const [question = 'How do I reverse a list in Python?', paraphrase = "What's the way to reverse a Python list?"] = process.argv.slice(2);
const brokers = (process.env.LLMCACHE_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const registry = new SchemaRegistry({ host: process.env.LLMCACHE_KAFKA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7' });
const prefix = process.env.LLMCACHE_KAFKA_TOPIC_PREFIX ?? '';
const topic = (name: string): string => `${prefix}llmcache.${name}`;

const kafka = new Kafka({ clientId: 'stream-example', brokers, logLevel: logLevel.NOTHING });
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
const replyTo = `stream-example-${randomUUID()}`;
const consumer = kafka.consumer({ groupId: replyTo, maxWaitTimeInMs: 100 });

// The scope every request is matched in: tenant, namespace, model, parameters, conversation context.
const scope: Scope = { tenant: 'default', namespace: 'default', model: 'default', paramsHash: hashParams({}), contextHash: '' };
const scopeKey = scopeKeyOf(scope);

const outcomes = new Map<string, (outcome: { topic: string; value: Record<string, unknown> }) => void>();
const waitFor = (requestId: string) =>
  new Promise<{ topic: string; value: Record<string, unknown> }>((resolve) => outcomes.set(requestId, resolve));

await producer.connect();
await consumer.connect();
await consumer.subscribe({ topics: [topic('hits'), topic('misses'), topic('stored')] });
const joined = new Promise<void>((resolve) => consumer.on(consumer.events.FETCH, () => resolve()));
await consumer.run({
  eachMessage: async ({ topic: from, message }) => {
    const value = (await registry.decode(message.value as Buffer)) as Record<string, unknown>;
    if (value.replyTo === replyTo) outcomes.get(String(value.requestId))?.({ topic: from, value });
  },
});
await joined;

const requestSchemaId = await registry.getLatestSchemaId(`${topic('requests')}-value`);
const send = async (
  kind: 'LOOKUP' | 'STORE',
  text: string,
  response?: string,
): Promise<{ topic: string; value: Record<string, unknown> }> => {
  const requestId = randomUUID();
  const normalized = normalizeText(text);
  const record = {
    requestId,
    kind,
    replyTo,
    ...scope,
    scopeKey,
    text: normalized,
    threshold: null,
    minCreatedAt: null,
    sentAt: Date.now(),
    store:
      response === undefined ? null : { entryId: entryIdOf(scopeKey, normalized), response, tags: ['stream-example'], expiresAt: null },
  };
  const outcome = waitFor(requestId);
  await producer.send({ topic: topic('requests'), messages: [{ key: scopeKey, value: await registry.encode(requestSchemaId, record) }] });
  return outcome;
};

const stored = await send('STORE', question, 'Use my_list.reverse() in place, or my_list[::-1] for a copy.');
console.log(`stored ${String(stored.value.entryId)} (${stored.topic})`);
const outcome = await send('LOOKUP', paraphrase);
const hit = outcome.topic === topic('hits');
console.log(
  hit
    ? `hit score=${Number(outcome.value.score).toFixed(3)} response=${String(outcome.value.response)}`
    : `miss bestScore=${String(outcome.value.bestScore)}`,
);

await consumer.disconnect();
await producer.disconnect();
const admin = kafka.admin();
await admin.connect();
await admin.deleteGroups([replyTo]).catch(() => undefined);
await admin.disconnect();
