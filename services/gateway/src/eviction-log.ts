import type { CacheEvictionEvent, EvictionReason } from '@llm-cache/codec';

/** One eviction announcement as the admin API shows it. */
export interface EvictionRecord {
  at: number;
  reason: EvictionReason;
  tenant: string;
  namespace: string | null;
  /** How many entries the announcement removed. */
  count: number;
  /** The first of their ids (an announcement can name thousands). */
  entryIds: string[];
}

const IDS_KEPT = 10;

/**
 * The last evictions this gateway heard of, newest first, in memory only: what an operator looks at
 * to see the evictor working, not an audit trail (a restart forgets it, and each gateway keeps its own).
 */
export class EvictionLog {
  private readonly records: EvictionRecord[] = [];

  constructor(private readonly capacity = 100) {}

  record(event: CacheEvictionEvent): void {
    this.records.unshift({
      at: event.at,
      reason: event.reason,
      tenant: event.tenant,
      namespace: event.namespace,
      count: event.entryIds.length,
      entryIds: event.entryIds.slice(0, IDS_KEPT),
    });
    if (this.records.length > this.capacity) this.records.length = this.capacity;
  }

  /** The tenant's latest evictions, newest first. */
  recent(tenant: string): EvictionRecord[] {
    return this.records.filter((record) => record.tenant === tenant);
  }
}
