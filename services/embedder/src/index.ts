import { CacheError, type Embedder, type RunningService } from '@llm-cache/core';
import type { EventBus } from '@llm-cache/bus';
import { scopeFieldsOf, TOPICS, type CacheRequestEvent } from '@llm-cache/codec';
import type { Logger, Metrics } from '@llm-cache/telemetry';

export interface EmbedderServiceDeps {
  bus: EventBus;
  embedder: Embedder;
  logger: Logger;
  metrics: Metrics;
  /** Requests embedded at once; the embedder batches concurrent texts into one model run. */
  concurrency?: number;
}

/**
 * Consumes requests, embeds their text, and forwards lookups to the matcher (llmcache.embedded) and
 * stores to the writer (llmcache.writes, carrying the vector).
 */
export async function startEmbedder(deps: EmbedderServiceDeps): Promise<RunningService> {
  const { bus, embedder, metrics } = deps;
  const handle = async (request: CacheRequestEvent): Promise<void> => {
    // The gateway splits long prompts so the embedded part fits (coverText); a request that arrives
    // with more text than the model reads would be matched on a part of it, so it is refused (and
    // goes to the dead-letter topic) instead of being cut short in silence.
    if (!embedder.window.fits(request.text)) {
      throw new CacheError(
        'LLMCACHE_VALIDATION',
        `request ${request.requestId}: text is longer than the embedding model's window of ${embedder.window.maxTokens} tokens; ` +
          'put what precedes the question in contextHash (docs/cache-rules.md)',
      );
    }
    const stop = metrics.time('embed');
    const [vector] = await embedder.embed([request.text]);
    stop();
    deps.logger.trace({ requestId: request.requestId, kind: request.kind }, 'embedded');
    const values = Array.from(vector as Float32Array);
    if (request.kind === 'LOOKUP') {
      // Keyed by the request, like the lookup itself: any matcher may decide it.
      await bus.publish(TOPICS.embedded, request.requestId, { request, embeddingModel: embedder.fingerprint, vector: values });
      return;
    }
    const store = request.store;
    if (!store) {
      deps.logger.warn({ requestId: request.requestId }, 'STORE request without a store payload ignored');
      return;
    }
    await bus.publish(TOPICS.writes, request.scopeKey, {
      entryId: store.entryId,
      requestId: request.requestId,
      replyTo: request.replyTo,
      ...scopeFieldsOf(request),
      prompt: request.text,
      response: store.response,
      tags: store.tags,
      createdAt: request.sentAt,
      expiresAt: store.expiresAt,
      embeddingModel: embedder.fingerprint,
      vector: values,
    });
  };
  const subscription = await bus.subscribe({
    group: 'llmcache-embedder',
    concurrency: deps.concurrency ?? 64,
    handlers: { [TOPICS.requests]: handle },
  });
  return { name: 'embedder', close: () => subscription.close() };
}
