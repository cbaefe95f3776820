import type { ApiTokenRecord, CacheEntry, VectorMatch, VectorQuery, VectorRecord } from '@llm-cache/core';

/** Nearest-neighbour search over embeddings, always restricted to one scope and one vector space. */
export interface VectorStore {
  upsert(records: readonly VectorRecord[]): Promise<void>;
  /** Best matches first; never returns expired entries or entries of another scope or model. */
  search(query: VectorQuery): Promise<VectorMatch[]>;
  delete(ids: readonly string[]): Promise<void>;
  /** The stored records of these ids (absent ids are left out). */
  getVectors(ids: readonly string[]): Promise<Map<string, VectorRecord>>;
  count(): Promise<number>;
  /**
   * Present on stores whose writes reach searches only after a delay (Milvus: until its query nodes
   * have consumed them): resolves once every write this process finished before the call is found by
   * searches from any process. Stores that search what they just wrote leave it out.
   */
  whenSearchable?(): Promise<void>;
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
  /** A tenant's entries in id order, after `after` (exclusive), `limit` at a time: for export. */
  scan(tenant: string, after: string | null, limit: number): Promise<CacheEntry[]>;
  /** Adds `count` (default 1) hits to each entry and moves its last hit forward to `at`. */
  recordHits(hits: ReadonlyArray<{ id: string; at: number; count?: number }>): Promise<void>;
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

/** API tokens, by the hash of their secret. */
export interface TokenStore {
  put(token: ApiTokenRecord): Promise<void>;
  findByHash(hash: string): Promise<ApiTokenRecord | null>;
  /** Tokens of one tenant, or of every tenant when none is given. */
  list(tenant?: string): Promise<ApiTokenRecord[]>;
  /** Deletes a token of the tenant (any tenant when none is given); false when there was none. */
  delete(id: string, tenant?: string): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * A similarity threshold set at runtime. `tenant` `*` with namespace `*` is the global default (set
 * by the bootstrap admin); namespace `*` is a tenant's default; otherwise one namespace of a tenant.
 */
export interface ThresholdRecord {
  tenant: string;
  namespace: string;
  threshold: number;
  updatedAt: number;
}

/** Thresholds set through the admin API, shared by every gateway and matcher and kept across restarts. */
export interface ThresholdStore {
  list(): Promise<ThresholdRecord[]>;
  put(record: ThresholdRecord): Promise<void>;
  /** False when there was none. */
  delete(tenant: string, namespace: string): Promise<boolean>;
  close(): Promise<void>;
}

/** One verified outcome of a lookup against an entry: was the entry's answer right for it? */
export interface OutcomeRecord {
  /** Idempotency key: an outcome delivered twice is counted once. */
  id: string;
  tenant: string;
  namespace: string;
  entryId: string;
  score: number;
  /** The score's bin in the namespace's counts (the decision policy's binning). */
  bin: number;
  correct: boolean;
  /** The entry's evidence level when the lookup was decided. */
  level: number;
  /** hit: a served hit (feedback); explored: a would-be hit answered upstream; near-miss: a miss close to the entry. */
  kind: 'hit' | 'explored' | 'near-miss';
  /** For explored lookups, the risk the policy predicted; otherwise null. */
  exploredRisk: number | null;
  at: number;
}

/** An outcome as an entry keeps it. */
export interface EntryObservation {
  score: number;
  correct: boolean;
  at: number;
}

/**
 * A namespace's outcomes, counted per evidence level and score bin, plus how explored hits turned out
 * and the outcomes of its served and explored hits (its FalseHitTotals).
 */
export interface OutcomeCounts {
  cells: Array<{ level: number; bin: number; correct: number; wrong: number }>;
  explored: number;
  exploredRisk: number;
  exploredWrong: number;
  hitsCorrect: number;
  hitsWrong: number;
}

/** Outcomes of served and explored hits of one namespace: the observed false-hit rate is wrong / (correct + wrong). */
export interface FalseHitTotals {
  tenant: string;
  namespace: string;
  correct: number;
  wrong: number;
}

/** A hit the gateway served, kept so that feedback naming its request id finds the entry and score. */
export interface HitRecord {
  requestId: string;
  tenant: string;
  namespace: string;
  scopeKey: string;
  entryId: string;
  score: number;
  at: number;
}

/** Verified outcomes: per-entry observations, per-namespace counts, and the hits feedback may name. */
export interface OutcomeStore {
  /** Records an outcome (the entry keeps its last `keep` observations); false when its id was recorded before. */
  record(outcome: OutcomeRecord, keep: number): Promise<boolean>;
  /** An entry's observations, oldest first. */
  observations(entryId: string): Promise<EntryObservation[]>;
  counts(tenant: string, namespace: string): Promise<OutcomeCounts>;
  falseHitTotals(): Promise<FalseHitTotals[]>;
  putHit(hit: HitRecord): Promise<void>;
  getHit(requestId: string): Promise<HitRecord | null>;
  /** Forgets the observations of removed entries. */
  forget(entryIds: readonly string[]): Promise<void>;
  /** Drops hit records and remembered outcome ids older than `before`. */
  prune(before: number): Promise<void>;
  close(): Promise<void>;
}
