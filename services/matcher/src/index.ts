import type { RunningService } from '@llm-cache/core';
import type { EventBus } from '@llm-cache/bus';
import { scopeFieldsOf, TOPICS, type EmbeddedRequestEvent } from '@llm-cache/codec';
import type { CacheStores } from '@llm-cache/storage';
import type { Logger, Metrics } from '@llm-cache/telemetry';

export interface MatcherServiceDeps {
  bus: EventBus;
  stores: CacheStores;
  logger: Logger;
  metrics: Metrics;
  /** Threshold used when a request carries none. */
  defaultThreshold: () => number;
  concurrency?: number;
  /** Candidates examined per search (the best live one decides). */
  candidates?: number;
}

/** Searches the request's scope, decides hit or miss against the threshold, and emits the outcome. */
export async function startMatcher(deps: MatcherServiceDeps): Promise<RunningService> {
  const { bus, stores, metrics } = deps;
  const k = deps.candidates ?? 4;

  const handle = async (event: EmbeddedRequestEvent): Promise<void> => {
    const { request } = event;
    const now = Date.now();
    const stop = metrics.time('search');
    const matches = await stores.vectors.search({
      scopeKey: request.scopeKey,
      embeddingModel: event.embeddingModel,
      vector: Float32Array.from(event.vector),
      k,
      now,
      ...(request.minCreatedAt === null ? {} : { minCreatedAt: request.minCreatedAt }),
    });
    stop();
    const threshold = request.threshold ?? deps.defaultThreshold();
    const scope = scopeFieldsOf(request);
    for (const match of matches) {
      if (match.score < threshold) break;
      const entry = await stores.entries.get(match.id);
      if (!entry || (entry.expiresAt !== null && entry.expiresAt <= now) || entry.scopeKey !== request.scopeKey) continue;
      metrics.score.observe({ outcome: 'hit' }, match.score);
      deps.logger.debug({ requestId: request.requestId, entryId: entry.id, score: match.score }, 'lookup hit');
      await bus.publish(TOPICS.hits, request.scopeKey, {
        requestId: request.requestId,
        replyTo: request.replyTo,
        ...scope,
        entryId: entry.id,
        score: match.score,
        response: entry.response,
        responseRef: entry.responseRef,
        entryCreatedAt: entry.createdAt,
        entryExpiresAt: entry.expiresAt,
        decidedAt: Date.now(),
        hitCount: 1,
      });
      return;
    }
    const bestScore = matches[0]?.score ?? null;
    if (bestScore !== null) metrics.score.observe({ outcome: 'miss' }, bestScore);
    deps.logger.debug({ requestId: request.requestId, bestScore }, 'lookup miss');
    await bus.publish(TOPICS.misses, request.scopeKey, {
      requestId: request.requestId,
      replyTo: request.replyTo,
      ...scope,
      text: request.text,
      bestScore,
      embeddingModel: event.embeddingModel,
      vector: event.vector,
      decidedAt: Date.now(),
    });
  };

  const subscription = await bus.subscribe({
    group: 'llmcache-matcher',
    concurrency: deps.concurrency ?? 32,
    handlers: { [TOPICS.embedded]: handle },
  });
  return { name: 'matcher', close: () => subscription.close() };
}
