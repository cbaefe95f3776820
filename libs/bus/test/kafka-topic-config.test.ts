import assert from 'node:assert/strict';
import { test } from 'node:test';
// kafkajs is CommonJS and Node does not see ConfigResourceTypes among its named exports.
import kafkajs from 'kafkajs';
import { TOPICS } from '@llm-cache/codec';
import { KafkaBus } from '@llm-cache/bus';
import { createLogger } from '@llm-cache/telemetry';
import { dropKafkaPrefix, requireServer, STACK, uniqueName } from '@llm-cache/testing';

/** min.insync.replicas of a topic as the broker describes it, and whether it is set on the topic itself. */
async function minInsyncReplicas(topic: string): Promise<{ value: string | undefined; onTopic: boolean }> {
  const { ConfigResourceTypes, ConfigSource, Kafka, logLevel } = kafkajs;
  const admin = new Kafka({ clientId: 'llm-cache-test-config', brokers: [STACK.kafkaBrokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const { resources } = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['min.insync.replicas'] }],
      includeSynonyms: false,
    });
    const entry = resources[0]?.configEntries.find((e) => e.configName === 'min.insync.replicas');
    return { value: entry?.configValue, onTopic: entry?.configSource === ConfigSource.TOPIC_CONFIG };
  } finally {
    await admin.disconnect();
  }
}

test('topics the bus creates carry kafka.minInsyncReplicas, or the broker default when it is not set', async (t) => {
  await requireServer('Kafka', STACK.kafkaBrokers);
  const connect = async (minInsyncReplicas?: number): Promise<string> => {
    const prefix = `${uniqueName('isr')}.`;
    const bus = await KafkaBus.connect({
      brokers: [STACK.kafkaBrokers],
      clientId: 'llm-cache-test',
      registryUrl: STACK.registryUrl,
      partitions: 1,
      replicationFactor: 1,
      ...(minInsyncReplicas === undefined ? {} : { minInsyncReplicas }),
      logger: createLogger({ level: 'silent' }),
      topicPrefix: prefix,
    });
    t.after(async () => {
      await bus.close();
      await dropKafkaPrefix(prefix);
    });
    return bus.physical(TOPICS.requests);
  };
  // One broker here, so 1 is the most a topic can ask for (the broker's own setting is 1 too): what
  // tells them apart is where the value comes from.
  assert.deepEqual(await minInsyncReplicas(await connect(1)), { value: '1', onTopic: true });
  assert.equal((await minInsyncReplicas(await connect())).onTopic, false);
});
