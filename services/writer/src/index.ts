import type { CacheEntry, Embedder, RunningService } from '@llm-cache/core';
import type { EventBus } from '@llm-cache/bus';
import { scopeFieldsOf, TOPICS, type CacheWriteEvent } from '@llm-cache/codec';
import type { CacheStores } from '@llm-cache/storage';
import type { Logger, Metrics } from '@llm-cache/telemetry';
import { startOutcomeRecorder, verifyWrite } from './outcomes.ts';

export { OBSERVATIONS_KEPT, recordOutcome, verifyWrite } from './outcomes.ts';

export interface WriterServiceDeps {
  bus: EventBus;
  stores: CacheStores;
  logger: Logger;
  metrics: Metrics;
  /** Responses larger than this many bytes are kept in the object store. */
  objectThresholdBytes: number;
  concurrency?: number;
  /** Compares answers of verified misses (see verifyWrite); created on first use. */
  embedder?: () => Promise<Embedder>;
  /** Answers at least this similar count as the same answer (default 0.9). */
  answerSimilarity?: number;
  /** How long hit records are kept for feedback (default a day). */
  feedbackWindowSeconds?: number;
}

export const responseObjectKey = (entryId: string): string => `responses/${entryId}`;

/**
 * Upserts entries from write events: object first, then scalars, then the vector (so a search
 * never finds an entry whose data is missing), then acknowledges on llmcache.stored. Writes are
 * idempotent by entry id: a replayed event replaces the entry with itself. The writer also verifies
 * the misses that ask for it and records every outcome (llmcache.outcomes) in the outcome store.
 */
export async function startWriter(deps: WriterServiceDeps): Promise<RunningService> {
  const write = createWriteHandler(deps);
  const subscription = await deps.bus.subscribe({
    group: 'llmcache-writer',
    concurrency: deps.concurrency ?? 1,
    handlers: { [TOPICS.writes]: write },
  });
  const recorder = await startOutcomeRecorder({ ...deps, feedbackWindowSeconds: deps.feedbackWindowSeconds ?? 86_400 });
  return {
    name: 'writer',
    close: async () => {
      await subscription.close();
      await write.drain();
      await recorder.close();
    },
  };
}

/** Handles one write event; `drain` waits for the acknowledgements still waiting for their entry to be searchable. */
export type WriteHandler = ((event: CacheWriteEvent) => Promise<void>) & { drain(): Promise<void> };

/**
 * The writer's handling of one write event, also used by `llm-cache replay`. Where the vector store
 * makes writes searchable only after a delay (Milvus), the acknowledgement waits for it without
 * holding up the next write: a 201 for `?wait=true` means a lookup finds the entry.
 */
export function createWriteHandler(deps: WriterServiceDeps): WriteHandler {
  const { bus, stores, metrics } = deps;
  const acks = new Set<Promise<void>>();
  const handle = async (event: CacheWriteEvent): Promise<void> => {
    const stop = metrics.time('store');
    const body = Buffer.from(event.response, 'utf8');
    const inline = body.byteLength <= deps.objectThresholdBytes;
    const responseRef = inline ? null : responseObjectKey(event.entryId);
    if (responseRef !== null) await stores.objects.put(responseRef, body);
    const previous = await stores.entries.get(event.entryId);
    const entry: CacheEntry = {
      id: event.entryId,
      ...scopeFieldsOf(event),
      prompt: event.prompt,
      response: inline ? event.response : null,
      responseRef,
      responseBytes: body.byteLength,
      tags: event.tags,
      createdAt: event.createdAt,
      expiresAt: event.expiresAt,
      hitCount: previous?.hitCount ?? 0,
      lastHitAt: previous?.lastHitAt ?? null,
      embeddingModel: event.embeddingModel,
    };
    const { created } = await stores.entries.upsert(entry);
    if (previous?.responseRef && previous.responseRef !== responseRef) await stores.objects.delete([previous.responseRef]);
    await stores.vectors.upsert([
      {
        id: event.entryId,
        scopeKey: event.scopeKey,
        embeddingModel: event.embeddingModel,
        vector: Float32Array.from(event.vector),
        createdAt: event.createdAt,
        expiresAt: event.expiresAt,
      },
    ]);
    stop();
    deps.logger.debug({ requestId: event.requestId, entryId: event.entryId, created }, 'entry stored');
    const acknowledge = (): Promise<void> =>
      bus.publish(TOPICS.stored, event.scopeKey, {
        entryId: event.entryId,
        requestId: event.requestId,
        replyTo: event.replyTo,
        scopeKey: event.scopeKey,
        created,
        storedAt: Date.now(),
      });
    if (stores.vectors.whenSearchable) {
      const ack = stores.vectors
        .whenSearchable()
        .then(acknowledge)
        .catch((error: unknown) => deps.logger.warn({ err: error, entryId: event.entryId }, 'stored an entry but could not acknowledge it'))
        .finally(() => acks.delete(ack));
      acks.add(ack);
    } else {
      await acknowledge();
    }
    if (event.verify && deps.embedder) {
      const verification = { bus, stores, logger: deps.logger, embedder: deps.embedder, answerSimilarity: deps.answerSimilarity ?? 0.9 };
      // A verification that fails costs one outcome, never the write.
      await verifyWrite(verification, event).catch((error: unknown) =>
        deps.logger.warn({ err: error, requestId: event.requestId, entryId: event.verify?.entryId }, 'could not verify a miss'),
      );
    }
  };
  return Object.assign(handle, { drain: async () => void (await Promise.all([...acks])) });
}
