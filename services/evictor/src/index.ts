import type { CacheEntry, RunningService } from '@llm-cache/core';
import { announceEvictions, type EventBus } from '@llm-cache/bus';
import { TOPICS, type CacheHitEvent, type EvictionReason } from '@llm-cache/codec';
import type { CacheStores } from '@llm-cache/storage';
import type { Logger, Metrics } from '@llm-cache/telemetry';
import { loadEvictionPolicy, type EvictionPolicy } from './policy.ts';

export { loadEvictionPolicy, type EvictionPolicy } from './policy.ts';

export interface Limits {
  /** 0 means unlimited. */
  maxEntries: number;
  maxBytes: number;
  /** A built-in policy for this namespace instead of the global one. */
  policy?: 'lru' | 'lfu' | 'fifo' | undefined;
}

export interface EvictionLimits {
  maxEntries: number;
  maxBytes: number;
  policy: 'lru' | 'lfu' | 'fifo' | 'custom';
  module?: string | undefined;
  namespaces: Record<string, Limits>;
  intervalMs: number;
}

export interface EvictorServiceDeps {
  bus: EventBus;
  stores: CacheStores;
  logger: Logger;
  metrics: Metrics;
  limits: EvictionLimits;
}

export interface RunningEvictor extends RunningService {
  /** Runs one sweep now; resolves with how many entries it removed. */
  sweep(): Promise<number>;
}

const BATCH = 500;
/** How many candidates a custom policy is shown at once. */
const CUSTOM_CANDIDATES = 5000;

type Scope = { tenant: string; namespace: string } | undefined;

/**
 * Keeps the cache within its limits: removes expired entries, then evicts by policy (LRU, LFU, FIFO
 * or a custom module) while a namespace or the whole cache is over its entry or byte limit.
 * Recency and frequency come from the hit stream.
 */
export async function startEvictor(deps: EvictorServiceDeps): Promise<RunningEvictor> {
  const { bus, stores, limits, logger } = deps;
  const custom: EvictionPolicy | undefined = limits.policy === 'custom' ? await loadEvictionPolicy(limits.module ?? '') : undefined;

  const evict = async (ids: readonly string[], reason: EvictionReason): Promise<number> => {
    const removed = await stores.remove(ids);
    if (removed.length > 0) await announceEvictions(bus, removed, reason);
    return removed.length;
  };

  const choose = async (count: number, scope: Scope, policy: Limits['policy']): Promise<string[]> => {
    const order = policy ?? (limits.policy === 'custom' ? undefined : limits.policy);
    if (order || !custom) return (await stores.entries.evictionCandidates(order ?? 'fifo', count, scope)).map((entry) => entry.id);
    const candidates: CacheEntry[] = await stores.entries.evictionCandidates('fifo', CUSTOM_CANDIDATES, scope);
    const known = new Set(candidates.map((entry) => entry.id));
    const chosen = (await custom.select(candidates, count, Date.now())).filter((id) => known.has(id));
    return [...new Set(chosen)].slice(0, count);
  };

  /** Evicts from one namespace (or the whole cache) until it is within its limits. */
  const trim = async (scope: Scope, within: Limits): Promise<number> => {
    if (within.maxEntries <= 0 && within.maxBytes <= 0) return 0;
    let removed = 0;
    for (;;) {
      const totals = await stores.entries.totals(scope);
      const overEntries = within.maxEntries > 0 ? totals.entries - within.maxEntries : 0;
      const overBytes = within.maxBytes > 0 && totals.bytes > within.maxBytes;
      if (overEntries <= 0 && !overBytes) return removed;
      const ids = await choose(Math.min(BATCH, Math.max(overEntries, 1)), scope, within.policy);
      if (ids.length === 0) return removed;
      const count = await evict(ids, 'CAPACITY');
      deps.metrics.evictions.inc({ reason: 'capacity' }, count);
      removed += count;
      if (count === 0) return removed;
    }
  };

  const sweep = async (): Promise<number> => {
    let removed = 0;
    for (;;) {
      const expired = await stores.entries.expiredIds(Date.now(), BATCH);
      if (expired.length === 0) break;
      const count = await evict(expired, 'TTL');
      deps.metrics.evictions.inc({ reason: 'ttl' }, count);
      removed += count;
      if (expired.length < BATCH) break;
    }
    if (Object.keys(limits.namespaces).length > 0) {
      for (const row of await stores.entries.namespaceStats()) {
        const within = limits.namespaces[row.namespace];
        if (within) removed += await trim({ tenant: row.tenant, namespace: row.namespace }, within);
      }
    }
    removed += await trim(undefined, { maxEntries: limits.maxEntries, maxBytes: limits.maxBytes });
    return removed;
  };

  // Hits are recorded in batches, one batch at a time: the hits that arrive while a batch is written
  // join the next one, summed per entry. Each handler returns once its hit is written (so a crash
  // loses no committed hit), and no two writes of one entry ever run at once (some MongoDB-compatible
  // servers lose one of two concurrent updates of a document).
  let open: Map<string, { at: number; count: number }> | undefined;
  let written: Promise<void> = Promise.resolve();
  let openWritten: Promise<void> = written;
  const recordHit = (hit: CacheHitEvent): Promise<void> => {
    if (open === undefined) {
      const batch = new Map<string, { at: number; count: number }>();
      open = batch;
      openWritten = written.then(() => {
        if (open === batch) open = undefined;
        return stores.entries.recordHits([...batch].map(([id, { at, count }]) => ({ id, at, count })));
      });
      written = openWritten.catch(() => undefined);
    }
    const before = open.get(hit.entryId);
    open.set(hit.entryId, { at: Math.max(before?.at ?? -Infinity, hit.decidedAt), count: (before?.count ?? 0) + hit.hitCount });
    return openWritten;
  };
  // Recording hits adds counts and keeps the latest time, so their order does not matter: several at
  // once per partition, as a gateway's hits all share the partition it reads its replies from.
  const subscription = await bus.subscribe({ group: 'llmcache-evictor', concurrency: 16, handlers: { [TOPICS.hits]: recordHit } });

  let running: Promise<number> = Promise.resolve(0);
  const runSweep = (): Promise<number> => {
    running = running.then(sweep, sweep).catch((error: unknown) => {
      logger.error({ err: error }, 'eviction sweep failed');
      return 0;
    });
    return running;
  };
  const timer = setInterval(() => void runSweep(), limits.intervalMs);
  timer.unref();

  return {
    name: 'evictor',
    sweep: runSweep,
    close: async () => {
      clearInterval(timer);
      await running;
      await subscription.close();
    },
  };
}
