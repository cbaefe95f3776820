export type {
  ConsumerLag,
  EventBus,
  EventHandler,
  EventMeta,
  PublishOptions,
  SubscribeOptions,
  Subscription,
  TopicHandlers,
} from './event-bus.ts';
export { MemoryBus } from './memory-bus.ts';
export { DEFAULT_RETRY, backoffMs, deadLetter, decodeEvent, shouldRetry, sleep, type RetryPolicy } from './retry.ts';
export { announceEvictions } from './announce.ts';
export { replyAddress, replyOptions } from './reply-address.ts';
export { KafkaBus, KAFKA_RETRY, type KafkaBusOptions } from './kafka-bus.ts';
