import type { PublishOptions } from './event-bus.ts';

const PARTITION_SUFFIX = /#(\d{1,9})$/;

/**
 * The `replyTo` of a request: who awaits its reply, and, when that reader takes only one partition
 * of the reply topics (Subscription.replyPartition), which one, as `<id>#<partition>`. A plain id
 * names a reader of every partition, as a stream consumer is.
 */
export function replyAddress(id: string, partition: number | undefined): string {
  return partition === undefined ? id : `${id}#${partition}`;
}

/** How to publish a reply to `replyTo`: to the partition its address names, if it names one. */
export function replyOptions(replyTo: string | null): PublishOptions {
  const partition = replyTo === null ? undefined : PARTITION_SUFFIX.exec(replyTo)?.[1];
  return partition === undefined ? {} : { partition: Number(partition) };
}
