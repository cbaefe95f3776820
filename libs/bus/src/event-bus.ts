import type { Topic, TopicEvents } from '@llm-cache/codec';

export interface EventMeta {
  topic: Topic;
  key: string;
  partition: number;
  offset: string;
  /** 1 on first delivery, more on redelivery. */
  attempt: number;
}

export type EventHandler<K extends Topic> = (value: TopicEvents[K], meta: EventMeta) => Promise<void>;

export type TopicHandlers = { [K in Topic]?: EventHandler<K> };

export interface SubscribeOptions {
  /** Consumer group: each event reaches one member of every group subscribed to its topic. */
  group: string;
  handlers: TopicHandlers;
  /** Events handled at once per partition (ordering per key holds only at 1). Default 1. */
  concurrency?: number;
  /** Start from the oldest retained event instead of new ones (replay). */
  fromBeginning?: boolean;
  /** The group belongs to this process alone (a gateway's replies) and is deleted on close. */
  ephemeral?: boolean;
  /**
   * Topics among the handled ones that carry replies addressed to this subscriber alone (a gateway's
   * hits and misses). With an ephemeral group, a bus with partitions reads only one partition of them,
   * the one the fewest other such subscribers read, and names it in Subscription.replyPartition;
   * repliers publish there (see replyAddress). The other topics are read whole.
   */
  replyTopics?: Topic[];
}

export interface Subscription {
  /** The partition of the reply topics this subscription reads; undefined when it reads all of them. */
  readonly replyPartition?: number;
  close(): Promise<void>;
}

export interface PublishOptions {
  /** The partition to write to instead of the key's (a reply to a subscriber of one partition). */
  partition?: number;
}

/** Events published to a topic that a consumer group of this process has not handled yet. */
export interface ConsumerLag {
  group: string;
  topic: Topic;
  lag: number;
}

/**
 * Topics with keys, consumer groups and at-least-once delivery. Values are Avro records checked
 * against schemas/<topic>.avsc on publish; a handler that throws a retryable error gets the event
 * again with backoff, any other failure sends it to the dead-letter topic and the consumer carries on.
 */
export interface EventBus {
  publish<K extends Topic>(topic: K, key: string, value: TopicEvents[K], options?: PublishOptions): Promise<void>;
  /** Publishes bytes as they are, bypassing the codec (used to test dead-lettering). */
  publishRaw(topic: Topic, key: string, value: Buffer, options?: PublishOptions): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** The lag of every group this process consumes with, per topic. */
  lag(): Promise<ConsumerLag[]>;
  close(): Promise<void>;
}
