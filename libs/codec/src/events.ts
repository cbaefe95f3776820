/** TypeScript shapes of the Avro records in schemas/*.avsc, one per topic. */
import type { Scope } from '@llm-cache/core';

export const TOPICS = {
  requests: 'llmcache.requests',
  embedded: 'llmcache.embedded',
  hits: 'llmcache.hits',
  misses: 'llmcache.misses',
  writes: 'llmcache.writes',
  stored: 'llmcache.stored',
  evictions: 'llmcache.evictions',
  control: 'llmcache.control',
  outcomes: 'llmcache.outcomes',
  deadLetter: 'llmcache.deadletter',
} as const;

export type Topic = (typeof TOPICS)[keyof typeof TOPICS];

/** The scope of an event: the request's Scope plus its key. */
export interface ScopeFields extends Scope {
  scopeKey: string;
}

/** Copies the scope fields out of any event that carries them. */
export const scopeFieldsOf = (event: ScopeFields): ScopeFields => ({
  scopeKey: event.scopeKey,
  tenant: event.tenant,
  namespace: event.namespace,
  model: event.model,
  paramsHash: event.paramsHash,
  contextHash: event.contextHash,
});

export interface StorePayload {
  entryId: string;
  response: string;
  tags: string[];
  expiresAt: number | null;
}

export interface CacheRequestEvent extends ScopeFields {
  requestId: string;
  kind: 'LOOKUP' | 'STORE';
  replyTo: string | null;
  text: string;
  threshold: number | null;
  minCreatedAt: number | null;
  sentAt: number;
  store: StorePayload | null;
}

export interface EmbeddedRequestEvent {
  request: CacheRequestEvent;
  embeddingModel: string;
  vector: number[];
}

export interface CacheHitEvent extends ScopeFields {
  requestId: string;
  replyTo: string | null;
  entryId: string;
  score: number;
  response: string | null;
  responseRef: string | null;
  entryCreatedAt: number;
  entryExpiresAt: number | null;
  decidedAt: number;
  hitCount: number;
}

/** A miss whose upstream answer is to be compared with a candidate entry's answer. */
export interface VerifyRequest {
  entryId: string;
  score: number;
  /** The candidate's evidence level when the lookup was decided. */
  level: number;
  /** The lookup could have been a hit and was explored instead. */
  explored: boolean;
  /** The decision policy's estimated chance that the candidate's answer is wrong. */
  risk: number;
}

export interface CacheMissEvent extends ScopeFields {
  requestId: string;
  replyTo: string | null;
  text: string;
  bestScore: number | null;
  embeddingModel: string;
  vector: number[];
  decidedAt: number;
  /** Absent in events of older producers. */
  verify?: VerifyRequest | null;
}

export interface CacheWriteEvent extends ScopeFields {
  entryId: string;
  requestId: string | null;
  replyTo: string | null;
  prompt: string;
  response: string;
  tags: string[];
  createdAt: number;
  expiresAt: number | null;
  embeddingModel: string;
  vector: number[];
  /** Carried over from the miss this answer was fetched for. */
  verify?: VerifyRequest | null;
}

export interface CacheStoredEvent {
  entryId: string;
  requestId: string | null;
  replyTo: string | null;
  scopeKey: string;
  created: boolean;
  storedAt: number;
}

export type EvictionReason = 'DELETE' | 'PURGE' | 'TTL' | 'CAPACITY' | 'MODEL_CHANGE';

export interface CacheEvictionEvent {
  entryIds: string[];
  tenant: string;
  namespace: string | null;
  reason: EvictionReason;
  at: number;
}

export interface CacheControlEvent {
  setting: 'THRESHOLD' | 'TOKENS_REVOKED';
  value: number;
  at: number;
  origin: string;
}

/** A verified outcome of a lookup against an entry. */
export interface CacheOutcomeEvent {
  /** Idempotency key. */
  outcomeId: string;
  requestId: string;
  scopeKey: string;
  tenant: string;
  namespace: string;
  entryId: string;
  score: number;
  correct: boolean;
  /** The entry's evidence level when decided; null when not known (feedback). */
  level: number | null;
  kind: 'HIT' | 'EXPLORED' | 'NEAR_MISS';
  source: 'VERIFICATION' | 'FEEDBACK';
  exploredRisk: number | null;
  similarity: number | null;
  at: number;
}

export interface DeadLetterEvent {
  topic: string;
  partition: number | null;
  offset: string | null;
  key: string | null;
  value: Buffer;
  errorCode: string;
  error: string;
  consumer: string;
  failedAt: number;
}

/** The record type carried by each topic. */
export interface TopicEvents {
  'llmcache.requests': CacheRequestEvent;
  'llmcache.embedded': EmbeddedRequestEvent;
  'llmcache.hits': CacheHitEvent;
  'llmcache.misses': CacheMissEvent;
  'llmcache.writes': CacheWriteEvent;
  'llmcache.stored': CacheStoredEvent;
  'llmcache.evictions': CacheEvictionEvent;
  'llmcache.control': CacheControlEvent;
  'llmcache.outcomes': CacheOutcomeEvent;
  'llmcache.deadletter': DeadLetterEvent;
}
