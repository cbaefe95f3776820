import { isRetryable, toCacheError } from '@llm-cache/core';
import { codecFor, type DeadLetterEvent, type Topic } from '@llm-cache/codec';

export interface RetryPolicy {
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, initialDelayMs: 50, maxDelayMs: 5000 };

export const backoffMs = (policy: RetryPolicy, attempt: number): number =>
  Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random()));

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Decides what to do with a failed delivery. */
export function shouldRetry(error: unknown, attempt: number, policy: RetryPolicy): boolean {
  return isRetryable(error) && attempt < policy.maxAttempts;
}

/** The dead-letter record for an event that could not be handled. */
export function deadLetter(input: {
  topic: Topic;
  partition: number | null;
  offset: string | null;
  key: string | null;
  value: Buffer;
  error: unknown;
  consumer: string;
}): DeadLetterEvent {
  const error = toCacheError(input.error);
  return {
    topic: input.topic,
    partition: input.partition,
    offset: input.offset,
    key: input.key,
    value: input.value,
    errorCode: error.code,
    error: error.message,
    consumer: input.consumer,
    failedAt: Date.now(),
  };
}

/** Decodes an event of a topic; a malformed one raises a non-retryable LLMCACHE_CODEC error. */
export function decodeEvent(topic: Topic, value: Buffer): unknown {
  return codecFor(topic).decode(value);
}
