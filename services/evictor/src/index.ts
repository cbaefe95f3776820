import type { RunningService } from '@llm-cache/core';
import { announceEvictions, type EventBus } from '@llm-cache/bus';
import { TOPICS, type CacheHitEvent, type EvictionReason } from '@llm-cache/codec';
import type { CacheStores, EvictionOrder } from '@llm-cache/storage';
import type { Logger, Metrics } from '@llm-cache/telemetry';

export interface EvictionLimits {
  policy: EvictionOrder;
  /** 0 means unlimited. */
  maxEntries: number;
  maxBytes: number;
  intervalMs: number;
}

export interface EvictorServiceDeps {
  bus: EventBus;
  stores: CacheStores;
  logger: Logger;
  metrics: Metrics;
  limits: EvictionLimits;
}

const SWEEP_BATCH = 500;

/**
 * Keeps the cache within its limits: removes expired entries, then evicts by policy (LRU, LFU, FIFO)
 * while over the entry or byte limit. Recency and frequency come from the hit stream.
 */
export async function startEvictor(deps: EvictorServiceDeps): Promise<RunningService> {
  const { bus, stores, limits, logger } = deps;

  const recordHit = async (hit: CacheHitEvent): Promise<void> => {
    await stores.entries.recordHits([{ id: hit.entryId, at: hit.decidedAt }]);
  };

  const evict = async (ids: string[], reason: EvictionReason): Promise<number> => {
    const removed = await stores.remove(ids);
    if (removed.length > 0) await announceEvictions(bus, removed, reason);
    return removed.length;
  };

  /** One pass: expired first, then capacity. Returns how many entries were removed. */
  const sweep = async (): Promise<number> => {
    let removed = 0;
    for (;;) {
      const expired = await stores.entries.expiredIds(Date.now(), SWEEP_BATCH);
      if (expired.length === 0) break;
      removed += await evict(expired, 'TTL');
      if (expired.length < SWEEP_BATCH) break;
    }
    if (limits.maxEntries > 0 || limits.maxBytes > 0) {
      for (;;) {
        const totals = await stores.entries.totals();
        const overEntries = limits.maxEntries > 0 ? totals.entries - limits.maxEntries : 0;
        const overBytes = limits.maxBytes > 0 && totals.bytes > limits.maxBytes;
        if (overEntries <= 0 && !overBytes) break;
        const batch = Math.min(SWEEP_BATCH, Math.max(overEntries, 1));
        const candidates = await stores.entries.evictionCandidates(limits.policy, batch);
        if (candidates.length === 0) break;
        removed += await evict(
          candidates.map((entry) => entry.id),
          'CAPACITY',
        );
      }
    }
    return removed;
  };

  const subscription = await bus.subscribe({
    group: 'llmcache-evictor',
    concurrency: 1,
    handlers: { [TOPICS.hits]: recordHit },
  });

  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = sweep().catch((error: unknown) => logger.error({ err: error }, 'eviction sweep failed'));
  }, limits.intervalMs);
  timer.unref();

  return {
    name: 'evictor',
    close: async () => {
      clearInterval(timer);
      await running;
      await subscription.close();
    },
  };
}
