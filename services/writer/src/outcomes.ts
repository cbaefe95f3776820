import type { Embedder } from '@llm-cache/core';
import type { EventBus } from '@llm-cache/bus';
import { TOPICS, type CacheOutcomeEvent, type CacheWriteEvent } from '@llm-cache/codec';
import { cosine } from '@llm-cache/embedding';
import { binOf, entryLevel } from '@llm-cache/policy';
import type { CacheStores, OutcomeRecord } from '@llm-cache/storage';
import type { Logger, Metrics } from '@llm-cache/telemetry';

/** Verified outcomes an entry keeps. */
export const OBSERVATIONS_KEPT = 20;

export interface VerificationDeps {
  bus: EventBus;
  stores: CacheStores;
  logger: Logger;
  /** The embedder that compares answers, created on first use. */
  embedder: () => Promise<Embedder>;
  /** Two answers whose embeddings are at least this similar (cosine) count as the same answer. */
  answerSimilarity: number;
}

/**
 * Compares the upstream answer a write carries with the answer of the entry its miss was verified
 * against, and publishes the outcome. Answers are compared by the cosine similarity of their
 * embeddings: an answer worded differently but saying the same thing still counts as the same.
 */
export async function verifyWrite(deps: VerificationDeps, event: CacheWriteEvent): Promise<void> {
  const verify = event.verify;
  if (!verify) return;
  const candidate = await deps.stores.entries.get(verify.entryId);
  const cached = candidate ? await deps.stores.responseOf(candidate) : null;
  if (!candidate || cached === null) return;
  const embedder = await deps.embedder();
  const [fresh, stored] = await embedder.embed([event.response, cached]);
  if (!fresh || !stored) return;
  const similarity = cosine(fresh, stored);
  await deps.bus.publish(TOPICS.outcomes, candidate.scopeKey, {
    outcomeId: `verify:${event.requestId ?? event.entryId}`,
    requestId: event.requestId ?? event.entryId,
    scopeKey: candidate.scopeKey,
    tenant: candidate.tenant,
    namespace: candidate.namespace,
    entryId: candidate.id,
    score: verify.score,
    correct: similarity >= deps.answerSimilarity,
    level: verify.level,
    kind: verify.explored ? 'EXPLORED' : 'NEAR_MISS',
    source: 'VERIFICATION',
    exploredRisk: verify.explored ? verify.risk : null,
    similarity,
    at: Date.now(),
  });
}

const KINDS = { HIT: 'hit', EXPLORED: 'explored', NEAR_MISS: 'near-miss' } as const;

/**
 * Records an outcome event in the outcome store (idempotent by outcome id). Feedback carries no
 * evidence level: it is taken from the entry as it is now.
 */
export async function recordOutcome(stores: CacheStores, metrics: Metrics, event: CacheOutcomeEvent): Promise<boolean> {
  let level = event.level;
  if (level === null) {
    const entry = await stores.entries.get(event.entryId);
    const observations = await stores.outcomes.observations(event.entryId);
    level = entryLevel({ hitCount: entry?.hitCount ?? 0, observations });
  }
  const record: OutcomeRecord = {
    id: event.outcomeId,
    tenant: event.tenant,
    namespace: event.namespace,
    entryId: event.entryId,
    score: event.score,
    bin: binOf(event.score),
    correct: event.correct,
    level,
    kind: KINDS[event.kind],
    exploredRisk: event.exploredRisk,
    at: event.at,
  };
  const recorded = await stores.outcomes.record(record, OBSERVATIONS_KEPT);
  if (recorded) {
    metrics.outcomes.inc({
      namespace: event.namespace,
      source: event.source.toLowerCase(),
      kind: event.kind.toLowerCase(),
      result: event.correct ? 'correct' : 'wrong',
    });
  }
  return recorded;
}

/** Subscribes the outcome recorder and prunes expired hit records and outcome ids now and then. */
export async function startOutcomeRecorder(deps: {
  bus: EventBus;
  stores: CacheStores;
  metrics: Metrics;
  logger: Logger;
  feedbackWindowSeconds: number;
}): Promise<{ close(): Promise<void> }> {
  const subscription = await deps.bus.subscribe({
    group: 'llmcache-writer-outcomes',
    concurrency: 1,
    handlers: { [TOPICS.outcomes]: async (event) => void (await recordOutcome(deps.stores, deps.metrics, event)) },
  });
  const prune = (): void =>
    void deps.stores.outcomes
      .prune(Date.now() - deps.feedbackWindowSeconds * 1000)
      .catch((error: unknown) => deps.logger.warn({ err: error }, 'could not prune hit records'));
  const timer = setInterval(prune, 10 * 60 * 1000);
  timer.unref();
  return {
    close: async () => {
      clearInterval(timer);
      await subscription.close();
    },
  };
}
