import type { CacheEntry, VectorMatch, VectorQuery, VectorRecord } from '@llm-cache/core';

/** Nearest-neighbour search over embeddings, always restricted to one scope and one vector space. */
export interface VectorStore {
  upsert(records: readonly VectorRecord[]): Promise<void>;
  /** Best matches first; never returns expired entries or entries of another scope or model. */
  search(query: VectorQuery): Promise<VectorMatch[]>;
  delete(ids: readonly string[]): Promise<void>;
  count(): Promise<number>;
  close(): Promise<void>;
}

export interface EntryFilter {
  tenant: string;
  namespace?: string;
  /** Entries carrying any of these tags. */
  tags?: readonly string[];
}

export type EvictionOrder = 'lru' | 'lfu' | 'fifo';

export interface StoreTotals {
  entries: number;
  bytes: number;
}

export interface NamespaceStats extends StoreTotals {
  tenant: string;
  namespace: string;
  hits: number;
}

/** The scalar side of an entry: prompt, response (or its object reference), scope, timestamps, usage. */
export interface EntryStore {
  /** Inserts or replaces by id; `created` is false when the id already existed. */
  upsert(entry: CacheEntry): Promise<{ created: boolean }>;
  get(id: string): Promise<CacheEntry | null>;
  /** Deletes and returns the entries that existed. */
  delete(ids: readonly string[]): Promise<CacheEntry[]>;
  findIds(filter: EntryFilter): Promise<string[]>;
  recordHits(hits: ReadonlyArray<{ id: string; at: number }>): Promise<void>;
  expiredIds(now: number, limit: number): Promise<string[]>;
  /** Entries in eviction order (first to go first), optionally within one namespace. */
  evictionCandidates(order: EvictionOrder, limit: number, scope?: { tenant: string; namespace: string }): Promise<CacheEntry[]>;
  totals(scope?: { tenant: string; namespace: string }): Promise<StoreTotals>;
  namespaceStats(tenant?: string): Promise<NamespaceStats[]>;
  close(): Promise<void>;
}

/** Large response bodies, by key. */
export interface ObjectStore {
  put(key: string, body: Buffer): Promise<void>;
  /** The body, or null when there is none under that key. */
  get(key: string): Promise<Buffer | null>;
  delete(keys: readonly string[]): Promise<void>;
  close(): Promise<void>;
}
