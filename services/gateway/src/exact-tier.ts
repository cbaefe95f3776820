import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

export interface ExactHit {
  entryId: string;
  response: string;
  /** Similarity the answer was matched with (1 for the stored prompt itself). */
  score: number;
  createdAt: number;
  expiresAt: number | null;
}

export interface ExactTierOptions {
  shards: number;
  maxEntries: number;
  maxBytes: number;
}

/**
 * The exact-repeat tier: scope key + normalized request -> answer, in bounded LRU shards (a shard
 * per key hash keeps each LRU's list short). Entries remember the score they were matched with, so a
 * raised threshold takes effect here too, and an index by entry id lets evictions drop them.
 */
export class ExactTier {
  private readonly shards: Array<LRUCache<string, ExactHit>>;
  private readonly keysByEntry = new Map<string, Set<string>>();

  constructor(options: ExactTierOptions) {
    const perShard = (total: number): number => Math.max(1, Math.ceil(total / options.shards));
    this.shards = Array.from(
      { length: options.shards },
      () =>
        new LRUCache<string, ExactHit>({
          max: perShard(options.maxEntries),
          maxSize: perShard(options.maxBytes),
          sizeCalculation: (value, key) => value.response.length * 2 + key.length * 2 + 64,
          dispose: (value, key) => this.unindex(value.entryId, key),
        }),
    );
  }

  private shard(key: string): LRUCache<string, ExactHit> {
    return this.shards[Number.parseInt(hash('md5', key, 'hex').slice(0, 8), 16) % this.shards.length] as LRUCache<string, ExactHit>;
  }

  private unindex(entryId: string, key: string): void {
    const keys = this.keysByEntry.get(entryId);
    if (!keys) return;
    keys.delete(key);
    if (keys.size === 0) this.keysByEntry.delete(entryId);
  }

  get(key: string, now: number): ExactHit | undefined {
    const shard = this.shard(key);
    const hit = shard.get(key);
    if (hit && hit.expiresAt !== null && hit.expiresAt <= now) {
      shard.delete(key);
      return undefined;
    }
    return hit;
  }

  set(key: string, hit: ExactHit): void {
    this.shard(key).set(key, hit);
    let keys = this.keysByEntry.get(hit.entryId);
    if (!keys) this.keysByEntry.set(hit.entryId, (keys = new Set()));
    keys.add(key);
  }

  /** Drops every key answered by these entries. */
  dropEntries(entryIds: Iterable<string>): void {
    for (const entryId of entryIds) {
      for (const key of [...(this.keysByEntry.get(entryId) ?? [])]) this.shard(key).delete(key);
      this.keysByEntry.delete(entryId);
    }
  }

  get size(): number {
    return this.shards.reduce((sum, shard) => sum + shard.size, 0);
  }

  clear(): void {
    for (const shard of this.shards) shard.clear();
    this.keysByEntry.clear();
  }
}
