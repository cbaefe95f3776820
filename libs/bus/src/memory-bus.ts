import { createHash } from 'node:crypto';
import { CacheError } from '@llm-cache/core';
import { codecFor, TOPICS, type Topic, type TopicEvents } from '@llm-cache/codec';
import type { Logger, Metrics } from '@llm-cache/telemetry';
import type { ConsumerLag, EventBus, EventHandler, PublishOptions, SubscribeOptions, Subscription } from './event-bus.ts';
import { backoffMs, deadLetter, decodeEvent, DEFAULT_RETRY, shouldRetry, sleep, type RetryPolicy } from './retry.ts';

interface Message {
  key: string;
  value: Buffer;
  partition: number;
  offset: number;
}

interface Member {
  handler: EventHandler<Topic>;
  concurrency: number;
  closed: boolean;
}

/** One consumer group on one topic: a queue per partition, each owned by one member. */
class GroupQueue {
  readonly members: Member[] = [];
  private readonly queues: Message[][];
  private readonly inFlight: number[];

  constructor(
    private readonly bus: MemoryBus,
    readonly topic: Topic,
    readonly group: string,
    partitions: number,
  ) {
    this.queues = Array.from({ length: partitions }, () => []);
    this.inFlight = new Array<number>(partitions).fill(0);
  }

  enqueue(message: Message): void {
    this.queues[message.partition]?.push(message);
    this.pump(message.partition);
  }

  /** Partition p belongs to member p mod members (a static round-robin assignment). */
  private owner(partition: number): Member | undefined {
    const live = this.members.filter((member) => !member.closed);
    return live.length === 0 ? undefined : live[partition % live.length];
  }

  /** Events queued or being handled. */
  get pending(): number {
    return this.queues.reduce((sum, queue) => sum + queue.length, 0) + this.inFlight.reduce((sum, n) => sum + n, 0);
  }

  pumpAll(): void {
    for (let p = 0; p < this.queues.length; p++) this.pump(p);
  }

  private pump(partition: number): void {
    const member = this.owner(partition);
    const queue = this.queues[partition];
    if (!member || !queue) return;
    while (queue.length > 0 && (this.inFlight[partition] ?? 0) < member.concurrency) {
      const message = queue.shift() as Message;
      this.inFlight[partition] = (this.inFlight[partition] ?? 0) + 1;
      void this.deliver(member, message).finally(() => {
        this.inFlight[partition] = (this.inFlight[partition] ?? 1) - 1;
        this.pump(partition);
      });
    }
  }

  private async deliver(member: Member, message: Message): Promise<void> {
    const policy = this.bus.retry;
    for (let attempt = 1; ; attempt++) {
      try {
        const value = decodeEvent(this.topic, message.value) as TopicEvents[Topic];
        await member.handler(value, {
          topic: this.topic,
          key: message.key,
          partition: message.partition,
          offset: String(message.offset),
          attempt,
        });
        this.bus.metrics?.events.inc({ topic: this.topic, result: 'ok' });
        return;
      } catch (error) {
        if (this.bus.closing) return;
        if (shouldRetry(error, attempt, policy)) {
          this.bus.metrics?.events.inc({ topic: this.topic, result: 'retried' });
          await sleep(backoffMs(policy, attempt));
          continue;
        }
        await this.bus.sendToDeadLetter(this.topic, this.group, message, error);
        return;
      }
    }
  }
}

/**
 * The in-process EventBus of the embedded mode. Events are Avro-encoded on publish and decoded on
 * delivery, exactly as on Kafka, so a schema mismatch fails here first. Delivery is asynchronous and
 * at-least-once within the process; nothing is retained once every group has handled an event.
 */
export class MemoryBus implements EventBus {
  readonly retry: RetryPolicy;
  readonly metrics: Metrics | undefined;
  closing = false;
  private readonly partitions: number;
  private readonly groups = new Map<Topic, Map<string, GroupQueue>>();
  private readonly offsets = new Map<Topic, number>();
  private readonly logger: Logger | undefined;

  constructor(options: { partitions?: number; retry?: Partial<RetryPolicy>; logger?: Logger; metrics?: Metrics } = {}) {
    this.partitions = options.partitions ?? 8;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.logger = options.logger;
    this.metrics = options.metrics;
  }

  async publish<K extends Topic>(topic: K, key: string, value: TopicEvents[K], options?: PublishOptions): Promise<void> {
    await this.publishRaw(topic, key, codecFor(topic).encode(value), options);
  }

  /** Honours a partition named in the options like Kafka does; subscriptions here always read every partition. */
  async publishRaw(topic: Topic, key: string, value: Buffer, options: PublishOptions = {}): Promise<void> {
    if (this.closing) return;
    const { partition = this.partitionOf(key) } = options;
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitions) {
      throw new CacheError('LLMCACHE_VALIDATION', `${topic} has no partition ${partition} (it has ${this.partitions})`);
    }
    const offset = this.offsets.get(topic) ?? 0;
    this.offsets.set(topic, offset + 1);
    const message: Message = { key, value, partition, offset };
    const groups = this.groups.get(topic);
    if (!groups) return;
    setImmediate(() => {
      for (const group of groups.values()) group.enqueue(message);
    });
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const members: Array<{ queue: GroupQueue; member: Member }> = [];
    for (const [topic, handler] of Object.entries(options.handlers) as Array<[Topic, EventHandler<Topic>]>) {
      let byGroup = this.groups.get(topic);
      if (!byGroup) this.groups.set(topic, (byGroup = new Map()));
      let queue = byGroup.get(options.group);
      if (!queue) byGroup.set(options.group, (queue = new GroupQueue(this, topic, options.group, this.partitions)));
      const member: Member = { handler, concurrency: options.concurrency ?? 1, closed: false };
      queue.members.push(member);
      queue.pumpAll();
      members.push({ queue, member });
    }
    return {
      close: async () => {
        for (const { queue, member } of members) {
          member.closed = true;
          queue.members.splice(queue.members.indexOf(member), 1);
          queue.pumpAll();
        }
      },
    };
  }

  async lag(): Promise<ConsumerLag[]> {
    const out: ConsumerLag[] = [];
    for (const [topic, byGroup] of this.groups) {
      for (const [group, queue] of byGroup) if (queue.members.length > 0) out.push({ group, topic, lag: queue.pending });
    }
    return out;
  }

  async sendToDeadLetter(topic: Topic, group: string, message: Message, error: unknown): Promise<void> {
    this.metrics?.events.inc({ topic, result: 'dead_lettered' });
    const record = deadLetter({
      topic,
      partition: message.partition,
      offset: String(message.offset),
      key: message.key,
      value: message.value,
      error,
      consumer: group,
    });
    this.logger?.warn({ topic, group, key: message.key, errorCode: record.errorCode, error: record.error }, 'event dead-lettered');
    if (topic !== TOPICS.deadLetter) await this.publish(TOPICS.deadLetter, message.key, record);
  }

  private partitionOf(key: string): number {
    return createHash('md5').update(key).digest().readUInt32BE(0) % this.partitions;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.groups.clear();
  }
}
