import type { CacheEntry } from '@llm-cache/core';
import { MemoryOutcomeStore } from './memory-outcome-store.ts';
import type { EntryStore, ObjectStore, OutcomeStore, ThresholdStore, VectorStore } from './ports.ts';
import { MemoryThresholdStore } from './threshold-stores.ts';

/**
 * The stores of one cache, with the operations that must touch them in a fixed order. Verified
 * outcomes and runtime thresholds live beside the entries; without durable stores they are kept in memory.
 */
export class CacheStores {
  constructor(
    readonly entries: EntryStore,
    readonly vectors: VectorStore,
    readonly objects: ObjectStore,
    readonly outcomes: OutcomeStore = new MemoryOutcomeStore(),
    readonly thresholds: ThresholdStore = new MemoryThresholdStore(),
  ) {}

  /** The response of an entry, inline or from the object store. */
  async responseOf(entry: Pick<CacheEntry, 'response' | 'responseRef'>): Promise<string | null> {
    if (entry.response !== null) return entry.response;
    if (entry.responseRef === null) return null;
    const body = await this.objects.get(entry.responseRef);
    return body === null ? null : body.toString('utf8');
  }

  /**
   * Removes entries: vectors first (so no search finds them), then scalars, then objects.
   * Returns the entries that existed.
   */
  async remove(ids: readonly string[]): Promise<CacheEntry[]> {
    if (ids.length === 0) return [];
    await this.vectors.delete(ids);
    const removed = await this.entries.delete(ids);
    const refs = removed.map((entry) => entry.responseRef).filter((ref): ref is string => ref !== null);
    if (refs.length > 0) await this.objects.delete(refs);
    await this.outcomes.forget(removed.map((entry) => entry.id));
    return removed;
  }

  async close(): Promise<void> {
    await Promise.all([this.vectors.close(), this.entries.close(), this.objects.close(), this.outcomes.close(), this.thresholds.close()]);
  }
}
