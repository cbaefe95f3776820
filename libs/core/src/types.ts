/**
 * Where a request may match: tenant + namespace + model + a hash of every output-affecting
 * parameter + a digest of the conversation before the current user turn.
 */
export interface Scope {
  tenant: string;
  namespace: string;
  model: string;
  paramsHash: string;
  contextHash: string;
}

/** A stored cache entry (scalars; the vector lives in the VectorStore). */
export interface CacheEntry {
  id: string;
  scopeKey: string;
  tenant: string;
  namespace: string;
  model: string;
  paramsHash: string;
  contextHash: string;
  /** The normalized text that was embedded. */
  prompt: string;
  /** Inline response, or null when it lives in the object store under responseRef. */
  response: string | null;
  responseRef: string | null;
  responseBytes: number;
  tags: string[];
  createdAt: number;
  expiresAt: number | null;
  hitCount: number;
  lastHitAt: number | null;
  /** Fingerprint of the embedding model that produced the stored vector. */
  embeddingModel: string;
}

/** A vector with what the search needs to filter on. */
export interface VectorRecord {
  id: string;
  scopeKey: string;
  embeddingModel: string;
  vector: Float32Array;
  createdAt: number;
  expiresAt: number | null;
}

export interface VectorQuery {
  scopeKey: string;
  embeddingModel: string;
  vector: Float32Array;
  k: number;
  /** Entries with expiresAt <= now are never returned. */
  now: number;
  /** Entries created before this instant are ignored (Cache-Control max-age). */
  minCreatedAt?: number;
}

export interface VectorMatch {
  id: string;
  /** Cosine similarity of normalized vectors, clipped to [0, 1]. */
  score: number;
}

/** What a token may do; `metrics` reaches /metrics only (every tenant's figures, no tenant's data). */
export type Role = 'reader' | 'writer' | 'admin' | 'metrics';

/** An API token as stored: only the SHA-256 of its secret is kept. */
export interface ApiTokenRecord {
  id: string;
  name: string;
  role: Role;
  /** The tenant whose entries the token reaches; `*` (bootstrap admin only) reaches every tenant. */
  tenant: string;
  hash: string;
  createdAt: number;
}
