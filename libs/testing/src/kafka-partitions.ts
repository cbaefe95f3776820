import { Kafka, logLevel } from 'kafkajs';
import { STACK } from './stack.ts';

/** Partitions of a topic on the local stack that hold at least one record, in order. */
export async function usedPartitions(topic: string): Promise<number[]> {
  const kafka = new Kafka({ clientId: 'llm-cache-test-partitions', brokers: [STACK.kafkaBrokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets
      .filter((offset) => Number(offset.high) > Number(offset.low))
      .map((offset) => offset.partition)
      .sort((a, b) => a - b);
  } finally {
    await admin.disconnect();
  }
}
