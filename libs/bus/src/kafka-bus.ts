import type { Agent as HttpAgent } from 'node:http';
import { Kafka, logLevel, type Admin, type Consumer, type KafkaConfig, type KafkaMessage, type Producer } from 'kafkajs';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { CacheError, toCacheError } from '@llm-cache/core';
import { ALL_TOPICS, codecFor, TOPICS, type Topic, type TopicEvents } from '@llm-cache/codec';
import type { Logger, Metrics } from '@llm-cache/telemetry';
import type { ConsumerLag, EventBus, EventHandler, PublishOptions, SubscribeOptions, Subscription } from './event-bus.ts';
import { checkedPartitioner, leastReadPartition, replyAssigner } from './reply-partition.ts';
import { backoffMs, deadLetter, shouldRetry, sleep, type RetryPolicy } from './retry.ts';

export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  registryUrl: string;
  /** Partitions of the topics this bus creates (existing topics keep theirs). */
  partitions: number;
  replicationFactor: number;
  /** min.insync.replicas of the topics this bus creates (absent: the broker's default). */
  minInsyncReplicas?: number;
  logger: Logger;
  metrics?: Metrics;
  retry?: Partial<RetryPolicy>;
  /** Consumer session timeout: how soon a dead member's partitions move to another. */
  sessionTimeoutMs?: number;
  /** Prepended to every topic, subject and consumer group name, so caches can share a cluster. */
  topicPrefix?: string;
  /** TLS and SASL to the brokers, passed to kafkajs as they are. */
  ssl?: KafkaConfig['ssl'];
  sasl?: KafkaConfig['sasl'];
  /** Basic auth and the agent (TLS settings) for the schema registry. */
  registryAuth?: { username: string; password: string };
  registryAgent?: HttpAgent;
}

/** Retryable failures (a store or the model unavailable) are retried for about a minute before dead-lettering. */
export const KAFKA_RETRY: RetryPolicy = { maxAttempts: 20, initialDelayMs: 100, maxDelayMs: 5000 };

const MAGIC_BYTE = 0;

/**
 * EventBus on Apache Kafka. Values are Avro in the Confluent wire format (magic byte, schema id,
 * body), the schema of each topic registered as subject `<topic>-value`. Offsets are committed only
 * after a handler has finished (or the event was dead-lettered), so a crash redelivers, never loses.
 */
export class KafkaBus implements EventBus {
  private readonly kafka: Kafka;
  private readonly registry: SchemaRegistry;
  private readonly producer: Producer;
  private readonly admin: Admin;
  private readonly retry: RetryPolicy;
  private readonly schemaIds = new Map<Topic, number>();
  private readonly consumers = new Set<Consumer>();
  /** Groups this process consumes with (prefixed id -> logical group and topics), for lag. */
  private readonly groupTopics = new Map<string, { group: string; topics: Topic[] }>();
  /** Partitions per topic as last read from the cluster (partitions are only ever added). */
  private readonly partitionCounts = new Map<Topic, number>();
  private closing = false;
  private readonly prefix: string;

  private constructor(private readonly options: KafkaBusOptions) {
    const logger = options.logger;
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      ...(options.ssl === undefined ? {} : { ssl: options.ssl }),
      ...(options.sasl === undefined ? {} : { sasl: options.sasl }),
      logLevel: logLevel.WARN,
      retry: { initialRetryTime: 100, retries: 8 },
      logCreator:
        () =>
        ({ level, log }) => {
          const { message, ...extra } = log;
          if (level <= logLevel.ERROR) logger.error({ kafka: extra }, `kafka: ${message}`);
          else if (level === logLevel.WARN) logger.warn({ kafka: extra }, `kafka: ${message}`);
        },
    });
    this.registry = new SchemaRegistry({
      host: options.registryUrl,
      clientId: options.clientId,
      ...(options.registryAuth === undefined ? {} : { auth: options.registryAuth }),
      ...(options.registryAgent === undefined ? {} : { agent: options.registryAgent }),
    });
    this.producer = this.kafka.producer({ createPartitioner: checkedPartitioner, allowAutoTopicCreation: false });
    this.admin = this.kafka.admin();
    this.retry = { ...KAFKA_RETRY, ...options.retry };
    this.prefix = options.topicPrefix ?? '';
  }

  /** The Kafka topic name of a logical topic. */
  physical(topic: Topic): string {
    return `${this.prefix}${topic}`;
  }

  private logical(name: string): Topic {
    return name.slice(this.prefix.length) as Topic;
  }

  /** Connects, creates missing topics and registers every topic's schema. */
  static async connect(options: KafkaBusOptions): Promise<KafkaBus> {
    const bus = new KafkaBus(options);
    try {
      await bus.admin.connect();
      await bus.ensureTopics();
      for (const topic of ALL_TOPICS) bus.schemaIds.set(topic, await bus.register(topic));
      await bus.producer.connect();
      return bus;
    } catch (error) {
      await bus.close().catch(() => undefined);
      throw new CacheError(
        'LLMCACHE_UNAVAILABLE',
        `cannot connect to Kafka (${options.brokers.join(',')}) or the schema registry (${options.registryUrl}): ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  /**
   * Creates the topics that do not exist yet. Several services start at once, so another may create
   * a topic between the listing and the creation: that is fine as long as every topic exists after.
   */
  private async ensureTopics(): Promise<void> {
    const missing = async (): Promise<Topic[]> => {
      const existing = new Set(await this.admin.listTopics());
      return ALL_TOPICS.filter((topic) => !existing.has(this.physical(topic)));
    };
    const absent = await missing();
    if (absent.length === 0) return;
    try {
      await this.admin.createTopics({
        waitForLeaders: true,
        topics: absent.map((topic) => ({
          topic: this.physical(topic),
          numPartitions: this.options.partitions,
          replicationFactor: this.options.replicationFactor,
          ...(this.options.minInsyncReplicas === undefined
            ? {}
            : { configEntries: [{ name: 'min.insync.replicas', value: String(this.options.minInsyncReplicas) }] }),
        })),
      });
    } catch (error) {
      if ((await missing()).length > 0) throw error;
    }
  }

  /** Registers a topic's schema as `<topic>-value`; retried, as concurrent first registrations can collide. */
  private async register(topic: Topic): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        const { id } = await this.registry.register(
          { type: SchemaType.AVRO, schema: codecFor(topic).schema },
          { subject: `${this.physical(topic)}-value` },
        );
        return id;
      } catch (error) {
        if (attempt >= 5) throw error;
        await sleep(100 * attempt + Math.random() * 200);
      }
    }
  }

  /** The registry id of a topic's value schema. */
  schemaId(topic: Topic): number {
    const id = this.schemaIds.get(topic);
    if (id === undefined) throw new CacheError('LLMCACHE_INTERNAL', `no schema registered for ${topic}`);
    return id;
  }

  private encode<K extends Topic>(topic: K, value: TopicEvents[K]): Buffer {
    const body = codecFor(topic).encode(value);
    const header = Buffer.alloc(5);
    header.writeUInt8(MAGIC_BYTE, 0);
    header.writeUInt32BE(this.schemaId(topic), 1);
    return Buffer.concat([header, body]);
  }

  /** Decodes with the local schema when the writer used it, otherwise resolves the writer's schema. */
  private async decode(topic: Topic, buffer: Buffer): Promise<unknown> {
    if (buffer.length < 5 || buffer.readUInt8(0) !== MAGIC_BYTE) {
      throw new CacheError('LLMCACHE_CODEC', `a ${topic} record is not in the schema registry wire format`);
    }
    if (buffer.readUInt32BE(1) === this.schemaId(topic)) return codecFor(topic).decode(buffer.subarray(5));
    try {
      return await this.registry.decode(buffer, { [SchemaType.AVRO]: { readerSchema: JSON.parse(codecFor(topic).schema) } });
    } catch (error) {
      throw new CacheError(
        'LLMCACHE_CODEC',
        `cannot decode a ${topic} record with schema id ${buffer.readUInt32BE(1)}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  async publish<K extends Topic>(topic: K, key: string, value: TopicEvents[K], options?: PublishOptions): Promise<void> {
    await this.publishRaw(topic, key, this.encode(topic, value), options);
  }

  async publishRaw(topic: Topic, key: string, value: Buffer, options: PublishOptions = {}): Promise<void> {
    const { partition } = options;
    try {
      if (partition !== undefined) await this.checkPartition(topic, partition);
      await this.producer.send({
        topic: this.physical(topic),
        acks: -1,
        messages: [{ key, value, ...(partition === undefined ? {} : { partition }) }],
      });
    } catch (error) {
      if (error instanceof CacheError) throw error;
      throw new CacheError('LLMCACHE_UNAVAILABLE', `cannot publish to ${topic}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** A partition that a reply names must exist: a wrong one is the request's fault, not worth retrying. */
  private async checkPartition(topic: Topic, partition: number): Promise<void> {
    const valid = Number.isInteger(partition) && partition >= 0;
    if (valid && partition < (this.partitionCounts.get(topic) ?? 0)) return;
    const [metadata] = (await this.admin.fetchTopicMetadata({ topics: [this.physical(topic)] })).topics;
    const count = metadata?.partitions.length ?? 0;
    this.partitionCounts.set(topic, count);
    if (!valid || partition >= count) {
      throw new CacheError('LLMCACHE_VALIDATION', `${topic} has no partition ${partition} (it has ${count})`);
    }
  }

  /**
   * The reply partition of a subscription with reply topics and an ephemeral group (see
   * SubscribeOptions.replyTopics), chosen before it joins; undefined when it reads every partition.
   */
  private async replyPartitionFor(options: SubscribeOptions): Promise<number | undefined> {
    const topics = (options.replyTopics ?? []).filter((topic) => options.handlers[topic] !== undefined);
    if (!options.ephemeral || topics.length === 0) return undefined;
    return leastReadPartition(
      this.admin,
      this.prefix,
      topics.map((topic) => this.physical(topic)),
      (error) => this.options.logger.warn({ err: error }, 'cannot list the consumer groups; the reply partition is picked at random'),
    );
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const replyPartition = await this.replyPartitionFor(options);
    const replyTopics = new Set((options.replyTopics ?? []).map((topic) => this.physical(topic)));
    const consumer = this.kafka.consumer({
      // Groups carry the topic prefix too: caches sharing a cluster must never share a group.
      groupId: `${this.prefix}${options.group}`,
      sessionTimeout: this.options.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: 1_000,
      rebalanceTimeout: 20_000,
      maxWaitTimeInMs: 200,
      allowAutoTopicCreation: false,
      ...(replyPartition === undefined ? {} : { partitionAssigners: [replyAssigner(replyPartition, replyTopics)] }),
    });
    this.consumers.add(consumer);
    const handlers = options.handlers as Partial<Record<Topic, EventHandler<Topic>>>;
    const groupId = `${this.prefix}${options.group}`;
    this.groupTopics.set(groupId, { group: options.group, topics: Object.keys(handlers) as Topic[] });
    const concurrency = options.concurrency ?? 1;
    const fetched = new Promise<void>((resolve) => {
      const remove = consumer.on(consumer.events.FETCH, () => {
        remove();
        resolve();
      });
    });
    await consumer.connect();
    await consumer.subscribe({
      topics: (Object.keys(handlers) as Topic[]).map((topic) => this.physical(topic)),
      fromBeginning: options.fromBeginning ?? false,
    });
    await consumer.run({
      partitionsConsumedConcurrently: this.options.partitions,
      eachBatchAutoResolve: false,
      autoCommit: true,
      autoCommitInterval: 500,
      eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
        const topic = this.logical(batch.topic);
        const handler = handlers[topic] as EventHandler<Topic>;
        const messages = batch.messages;
        for (let start = 0; start < messages.length; start += concurrency) {
          if (!isRunning() || isStale() || this.closing) return;
          const chunk = messages.slice(start, start + concurrency);
          await Promise.all(chunk.map((message) => this.deliver(options.group, topic, batch.partition, message, handler)));
          for (const message of chunk) resolveOffset(message.offset);
          await commitOffsetsIfNecessary();
          await heartbeat();
        }
      },
    });
    // A new group starts at the latest offsets: wait for the first fetch so nothing published after
    // subscribe() returns is missed.
    await Promise.race([fetched, sleep(30_000)]);
    return {
      ...(replyPartition === undefined ? {} : { replyPartition }),
      close: async () => {
        this.consumers.delete(consumer);
        this.groupTopics.delete(groupId);
        await consumer.disconnect();
        if (options.ephemeral) await this.deleteGroups([`${this.prefix}${options.group}`]);
      },
    };
  }

  /**
   * Lag per group and topic: the log end offsets minus the group's committed offsets. A partition the
   * group has never committed on counts from where it started (the end, for a new group).
   */
  async lag(): Promise<ConsumerLag[]> {
    const out: ConsumerLag[] = [];
    const ends = new Map<string, Map<number, number>>();
    const endsOf = async (physical: string): Promise<Map<number, number>> => {
      let found = ends.get(physical);
      if (!found) {
        const offsets = await this.admin.fetchTopicOffsets(physical);
        found = new Map(offsets.map((o) => [o.partition, Number(o.high)]));
        ends.set(physical, found);
      }
      return found;
    };
    for (const [groupId, { group, topics }] of this.groupTopics) {
      const physical = topics.map((topic) => this.physical(topic));
      const committed = await this.admin.fetchOffsets({ groupId, topics: physical });
      for (const { topic, partitions } of committed) {
        const high = await endsOf(topic);
        let lag = 0;
        for (const { partition, offset } of partitions) {
          const at = Number(offset);
          if (at >= 0) lag += Math.max(0, (high.get(partition) ?? 0) - at);
        }
        out.push({ group, topic: this.logical(topic), lag });
      }
    }
    return out;
  }

  private async deliver(
    group: string,
    topic: Topic,
    partition: number,
    message: KafkaMessage,
    handler: EventHandler<Topic>,
  ): Promise<void> {
    const value = message.value ?? Buffer.alloc(0);
    const key = message.key?.toString() ?? '';
    for (let attempt = 1; ; attempt++) {
      try {
        const event = (await this.decode(topic, value)) as TopicEvents[Topic];
        await handler(event, { topic, key, partition, offset: message.offset, attempt });
        this.options.metrics?.events.inc({ topic, result: 'ok' });
        return;
      } catch (error) {
        if (this.closing) throw error;
        if (shouldRetry(error, attempt, this.retry)) {
          this.options.metrics?.events.inc({ topic, result: 'retried' });
          await sleep(backoffMs(this.retry, attempt));
          continue;
        }
        this.options.metrics?.events.inc({ topic, result: 'dead_lettered' });
        const record = deadLetter({ topic, partition, offset: message.offset, key, value, error, consumer: group });
        this.options.logger.warn(
          { topic, group, key, offset: message.offset, errorCode: record.errorCode, error: record.error },
          'event dead-lettered',
        );
        if (topic === TOPICS.deadLetter) return;
        await this.publish(TOPICS.deadLetter, key, record).catch((publishError: unknown) => {
          throw toCacheError(publishError, 'LLMCACHE_UNAVAILABLE');
        });
        return;
      }
    }
  }

  /** Removes consumer groups (the per-instance reply groups of stopped gateways). */
  private async deleteGroups(groups: string[]): Promise<void> {
    await this.admin.deleteGroups(groups).catch((error: unknown) => this.options.logger.debug({ err: error }, 'group delete failed'));
  }

  /** How many events a topic holds now, over all partitions (for replay progress). */
  async retainedEvents(topic: Topic): Promise<number> {
    const offsets = await this.admin.fetchTopicOffsets(this.physical(topic));
    return offsets.reduce((sum, partition) => sum + Number(partition.high) - Number(partition.low), 0);
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.consumers].map((consumer) => consumer.disconnect()));
    this.consumers.clear();
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }
}
