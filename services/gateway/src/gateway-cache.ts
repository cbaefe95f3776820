import { randomUUID } from 'node:crypto';
import {
  CacheError,
  coverText,
  coveredContextHash,
  entryIdOf,
  exactKeyText,
  hashParams,
  scopeKeyOf,
  type Scope,
  type TextWindow,
} from '@llm-cache/core';
import { announceEvictions, replyAddress, type EventBus, type Subscription } from '@llm-cache/bus';
import { TOPICS, type CacheHitEvent, type CacheMissEvent, type CacheStoredEvent } from '@llm-cache/codec';
import {
  countsFromCells,
  entryThreshold,
  EVIDENCE_LEVELS,
  ScoreStats,
  policyOf,
  settingsFor,
  STATIC_DECISIONS,
  zOf,
  type DecisionSettings,
} from '@llm-cache/policy';
import { ANY, type CacheStores, type NamespaceStats, type ThresholdBook, type ThresholdSource } from '@llm-cache/storage';
import type { Logger, Metrics } from '@llm-cache/telemetry';
import { EvictionLog } from './eviction-log.ts';
import { ExactTier, type ExactTierOptions } from './exact-tier.ts';
import { HitReporter } from './hit-reporter.ts';
import { decodeVector, encodeVector, type ExportedEntry } from './transfer.ts';
import { PendingReplies } from './pending.ts';

export interface ScopeInput {
  tenant: string;
  namespace: string;
  model: string;
  params: Record<string, unknown>;
  contextHash: string;
  /** Normalized text to match (the prompt or the last user turn). */
  text: string;
}

export interface ResolvedRequest {
  scope: Scope;
  scopeKey: string;
  /** The part of the request's text that is embedded; the rest is in the scope's context digest. */
  text: string;
  exactKey: string;
}

export interface LookupOptions {
  requestId: string;
  threshold?: number;
  minCreatedAt?: number;
}

export type LookupResult =
  | { hit: true; tier: 'exact' | 'semantic'; score: number; entryId: string; response: string }
  | { hit: false; score: number; degraded: boolean; miss: CacheMissEvent | null };

export interface StoreOptions {
  requestId: string;
  response: string;
  tags: string[];
  ttlSeconds?: number;
  wait: boolean;
}

/** Every gateway and matcher holds every threshold in memory: one tenant may not grow that without bound. */
export const MAX_THRESHOLDS_PER_TENANT = 1000;

/** Whose threshold: a namespace of a tenant, a tenant's default (namespace `*`), or the global one (both `*`). */
export interface ThresholdTarget {
  tenant: string;
  namespace: string;
}

/** A tenant's lookups at this gateway since it started, by outcome. */
export interface LookupCounts {
  total: number;
  exactHits: number;
  semanticHits: number;
  misses: number;
  hitRate: number;
}

type Reply = { kind: 'hit'; event: CacheHitEvent } | { kind: 'miss'; event: CacheMissEvent };

/** See GatewayCache.decisionReport. */
export interface DecisionReport {
  namespace: string;
  policy: 'static' | 'verified';
  maxFalseHitRate: number;
  confidence: number;
  outcomes: { correct: number; wrong: number };
  verifiedHits: { correct: number; wrong: number };
  observedFalseHitRate: number | null;
  explored: { count: number; wrong: number; predictedRisk: number };
  calibration: number;
  thresholds: Array<{ level: number; threshold: number | null }>;
}

export interface GatewayCacheDeps {
  bus: EventBus;
  stores: CacheStores;
  logger: Logger;
  metrics: Metrics;
  /** The thresholds in force, per tenant and namespace. */
  thresholds: ThresholdBook;
  /** The embedder's window: what of a text it reads. */
  window: TextWindow;
  defaultTtlSeconds: number;
  lookupTimeoutMs: number;
  writeTimeoutMs: number;
  exactTier: (ExactTierOptions & { enabled: boolean }) | undefined;
  instanceId?: string;
  /** The decision policy of each namespace (all static when absent). */
  decision?: DecisionSettings;
  /** Called when another gateway revoked tokens: forget the cached ones. */
  onTokensRevoked?: () => void;
}

/**
 * The gateway's side of the pipeline: scope resolution, the exact tier, request/reply over the bus
 * (correlated by request id; each gateway instance only takes the replies addressed to it), writes,
 * deletes and purges.
 */
export class GatewayCache {
  readonly instanceId: string;
  /** Where replies to this gateway go (`replyTo`): its instance id, and the partition of hits and misses it reads. */
  private replyTo: string;
  /** The last evictions announced, for the admin API. */
  readonly evictions = new EvictionLog();
  private readonly exact: ExactTier | undefined;
  private readonly lookups = new PendingReplies<Reply>();
  private readonly writes = new PendingReplies<CacheStoredEvent>();
  private readonly storedAnswers = new Map<string, { exactKey: string; response: string; createdAt: number; expiresAt: number | null }>();
  private subscription: Subscription | undefined;
  /** Lookups per tenant (the metrics have no tenant label, and a tenant sees only its own figures). */
  private readonly counts = new Map<string, { exactHits: number; semanticHits: number; misses: number }>();
  private readonly hits: HitReporter;

  constructor(private readonly deps: GatewayCacheDeps) {
    this.instanceId = deps.instanceId ?? `gw-${randomUUID()}`;
    this.replyTo = this.instanceId;
    this.exact = deps.exactTier?.enabled ? new ExactTier(deps.exactTier) : undefined;
    this.hits = new HitReporter(deps.bus, deps.logger);
  }

  /**
   * Subscribes to the replies and to what every gateway must hear. Lookup outcomes (hits, misses) are
   * addressed to one gateway, so it reads one partition of them and has them published there; stored
   * acknowledgements, evictions and control events are read whole, as every gateway needs their entry
   * ids and settings.
   */
  async start(): Promise<void> {
    const mine = (replyTo: string | null): boolean => replyTo === this.replyTo;
    this.subscription = await this.deps.bus.subscribe({
      group: `llmcache-gateway-${this.instanceId}`,
      ephemeral: true,
      concurrency: 64,
      replyTopics: [TOPICS.hits, TOPICS.misses],
      handlers: {
        [TOPICS.hits]: async (event) => {
          if (mine(event.replyTo)) this.lookups.settle(event.requestId, { kind: 'hit', event });
        },
        [TOPICS.misses]: async (event) => {
          if (mine(event.replyTo)) this.lookups.settle(event.requestId, { kind: 'miss', event });
        },
        [TOPICS.stored]: async (event) => this.onStored(event, mine(event.replyTo)),
        [TOPICS.evictions]: async (event) => {
          this.exact?.dropEntries(event.entryIds);
          this.evictions.record(event);
        },
        [TOPICS.control]: async (event) => {
          if (event.origin === this.instanceId) return;
          if (event.setting === 'THRESHOLD') await this.deps.thresholds.refresh();
          if (event.setting === 'TOKENS_REVOKED') this.deps.onTokensRevoked?.();
        },
      },
    });
    this.replyTo = replyAddress(this.instanceId, this.subscription.replyPartition);
  }

  private onStored(event: CacheStoredEvent, mine: boolean): void {
    this.exact?.dropEntries([event.entryId]);
    const answer = event.requestId === null || !mine ? undefined : this.storedAnswers.get(event.requestId);
    if (answer && event.requestId !== null) {
      this.storedAnswers.delete(event.requestId);
      this.exact?.set(answer.exactKey, { entryId: event.entryId, score: 1, ...answer });
    }
    if (mine && event.requestId !== null) this.writes.settle(event.requestId, event);
  }

  /**
   * The scope and matched text of a request. A text longer than the embedder's window is split
   * (coverText): its tail is embedded and the rest joins the context digest, so it must match exactly.
   */
  resolve(input: ScopeInput): ResolvedRequest {
    const covered = coverText(input.text, this.deps.window);
    const scope: Scope = {
      tenant: input.tenant,
      namespace: input.namespace,
      model: input.model,
      paramsHash: hashParams(input.params),
      contextHash: coveredContextHash(input.contextHash, covered.exact),
    };
    const scopeKey = scopeKeyOf(scope);
    return { scope, scopeKey, text: covered.embedded, exactKey: `${scopeKey}\u0000${exactKeyText(covered.embedded)}` };
  }

  /** Whether the namespace's lookups are decided by the verified policy (unless they name a threshold). */
  isVerified(namespace: string): boolean {
    return this.deps.decision !== undefined && policyOf(this.deps.decision, namespace) === 'verified';
  }

  async lookup(request: ResolvedRequest, options: LookupOptions): Promise<LookupResult> {
    const { metrics } = this.deps;
    const namespace = request.scope.namespace;
    // Null leaves the decision to the verified policy; there the exact tier serves only exact repeats
    // of stored prompts (score 1), so every other lookup gets a fresh decision.
    const threshold = options.threshold ?? (this.isVerified(namespace) ? null : this.deps.thresholds.get(request.scope.tenant, namespace));
    const stop = metrics.time('lookup');
    const now = Date.now();
    const cached = this.exact?.get(request.exactKey, now);
    if (cached && cached.score >= (threshold ?? 1) && (options.minCreatedAt === undefined || cached.createdAt >= options.minCreatedAt)) {
      metrics.lookups.inc({ outcome: 'hit', tier: 'exact', namespace });
      this.countOf(request.scope.tenant).exactHits += 1;
      this.hits.record(cached.entryId, { ...request.scope, scopeKey: request.scopeKey }, cached, now);
      if (threshold === null) await this.recordHit(request, options.requestId, cached.entryId, cached.score, now);
      stop();
      return { hit: true, tier: 'exact', score: cached.score, entryId: cached.entryId, response: cached.response };
    }
    const reply = this.lookups.wait(options.requestId, this.deps.lookupTimeoutMs);
    // Lookups need no order among themselves: keyed by their own id, one scope's lookups spread over
    // every partition, embedder and matcher. Stores stay keyed by scope, which orders its writes.
    await this.deps.bus.publish(TOPICS.requests, options.requestId, {
      requestId: options.requestId,
      kind: 'LOOKUP',
      replyTo: this.replyTo,
      ...request.scope,
      scopeKey: request.scopeKey,
      text: request.text,
      threshold,
      minCreatedAt: options.minCreatedAt ?? null,
      sentAt: now,
      store: null,
    });
    const outcome = await reply;
    stop();
    if (outcome?.kind === 'hit') {
      const hit = outcome.event;
      const response = await this.deps.stores.responseOf(hit);
      if (response !== null) {
        metrics.lookups.inc({ outcome: 'hit', tier: 'semantic', namespace });
        this.countOf(request.scope.tenant).semanticHits += 1;
        if (threshold === null) {
          await this.recordHit(request, options.requestId, hit.entryId, hit.score, now);
        } else {
          this.exact?.set(request.exactKey, {
            entryId: hit.entryId,
            response,
            score: hit.score,
            createdAt: hit.entryCreatedAt,
            expiresAt: hit.entryExpiresAt,
          });
        }
        return { hit: true, tier: 'semantic', score: hit.score, entryId: hit.entryId, response };
      }
    }
    metrics.lookups.inc({ outcome: 'miss', tier: 'semantic', namespace });
    this.countOf(request.scope.tenant).misses += 1;
    if (outcome === undefined) this.deps.logger.warn({ requestId: options.requestId }, 'lookup timed out; answering a miss');
    const miss = outcome?.kind === 'miss' ? outcome.event : null;
    return { hit: false, score: miss?.bestScore ?? 0, degraded: outcome === undefined, miss };
  }

  /**
   * Keeps a hit of a verified namespace in the outcome store, so feedback naming its request id can
   * be resolved by any gateway. A store failure costs that feedback, never the answer.
   */
  private async recordHit(request: ResolvedRequest, requestId: string, entryId: string, score: number, at: number): Promise<void> {
    await this.deps.stores.outcomes
      .putHit({
        requestId,
        tenant: request.scope.tenant,
        namespace: request.scope.namespace,
        scopeKey: request.scopeKey,
        entryId,
        score,
        at,
      })
      .catch((error: unknown) => this.deps.logger.warn({ err: error, requestId }, 'could not keep the hit record for feedback'));
  }

  /**
   * Feedback on a hit this cache answered: publishes the outcome for the writer to record. Null when
   * the request id names no hit of this tenant within the feedback window.
   */
  async feedback(tenant: string, requestId: string, correct: boolean): Promise<{ entryId: string; score: number } | null> {
    const hit = await this.deps.stores.outcomes.getHit(requestId);
    if (!hit || hit.tenant !== tenant) return null;
    await this.deps.bus.publish(TOPICS.outcomes, hit.scopeKey, {
      outcomeId: `feedback:${requestId}`,
      requestId,
      scopeKey: hit.scopeKey,
      tenant: hit.tenant,
      namespace: hit.namespace,
      entryId: hit.entryId,
      score: hit.score,
      correct,
      level: null,
      kind: 'HIT',
      source: 'FEEDBACK',
      exploredRisk: null,
      similarity: null,
      at: Date.now(),
    });
    return { entryId: hit.entryId, score: hit.score };
  }

  /**
   * A namespace's decision settings and what its verified outcomes say so far: outcome counts, the
   * observed false-hit rate of verified hits, how explored hits compared with their predicted risk,
   * and per evidence level the score from which a hit's chance of being wrong stays under the budget.
   */
  async decisionReport(tenant: string, namespace: string): Promise<DecisionReport> {
    const settings = settingsFor(this.deps.decision ?? STATIC_DECISIONS, namespace);
    const counts = await this.deps.stores.outcomes.counts(tenant, namespace);
    const hits = { correct: counts.hitsCorrect, wrong: counts.hitsWrong };
    const stats = new ScoreStats(countsFromCells(counts), settings.minScore);
    const z = zOf(settings.confidence);
    // The least evidence (hits plus outcomes) of each level: 0, 1, 2 and 4.
    const evidence = [0, 1, 2, 4];
    return {
      namespace,
      policy: settings.policy,
      maxFalseHitRate: settings.maxFalseHitRate,
      confidence: settings.confidence,
      outcomes: {
        correct: counts.cells.reduce((sum, cell) => sum + cell.correct, 0),
        wrong: counts.cells.reduce((sum, cell) => sum + cell.wrong, 0),
      },
      verifiedHits: { correct: hits.correct, wrong: hits.wrong },
      observedFalseHitRate: hits.correct + hits.wrong === 0 ? null : hits.wrong / (hits.correct + hits.wrong),
      explored: { count: counts.explored, wrong: counts.exploredWrong, predictedRisk: counts.exploredRisk },
      calibration: stats.calibration(),
      thresholds: Array.from({ length: EVIDENCE_LEVELS }, (_, level) => ({
        level,
        threshold: entryThreshold(stats, { hitCount: evidence[level] ?? 0, observations: [] }, settings.maxFalseHitRate, z),
      })),
    };
  }

  private expiresAt(createdAt: number, ttlSeconds: number | undefined): number | null {
    const ttl = ttlSeconds ?? this.deps.defaultTtlSeconds;
    return ttl > 0 ? createdAt + ttl * 1000 : null;
  }

  /**
   * Stores an answer. Without a vector the request goes through the embedder; with the vector of a
   * miss it goes straight to the writer (the text is never embedded twice).
   * Resolves once queued, or with wait once the writer acknowledged it (LLMCACHE_TIMEOUT otherwise).
   */
  async store(
    request: ResolvedRequest,
    options: StoreOptions,
    miss?: CacheMissEvent | null,
  ): Promise<{ id: string; created: boolean | null }> {
    const id = entryIdOf(request.scopeKey, request.text);
    const createdAt = Date.now();
    const expiresAt = this.expiresAt(createdAt, options.ttlSeconds);
    this.storedAnswers.set(options.requestId, { exactKey: request.exactKey, response: options.response, createdAt, expiresAt });
    const ack = this.writes.wait(options.requestId, this.deps.writeTimeoutMs);
    void ack.then(() => this.storedAnswers.delete(options.requestId));
    if (miss) {
      await this.deps.bus.publish(TOPICS.writes, request.scopeKey, {
        entryId: id,
        requestId: options.requestId,
        replyTo: this.replyTo,
        ...request.scope,
        scopeKey: request.scopeKey,
        prompt: request.text,
        response: options.response,
        tags: options.tags,
        createdAt,
        expiresAt,
        embeddingModel: miss.embeddingModel,
        vector: miss.vector,
        verify: miss.verify ?? null,
      });
    } else {
      await this.deps.bus.publish(TOPICS.requests, request.scopeKey, {
        requestId: options.requestId,
        kind: 'STORE',
        replyTo: this.replyTo,
        ...request.scope,
        scopeKey: request.scopeKey,
        text: request.text,
        threshold: null,
        minCreatedAt: null,
        sentAt: createdAt,
        store: { entryId: id, response: options.response, tags: options.tags, expiresAt },
      });
    }
    if (!options.wait) return { id, created: null };
    const stored = await ack;
    if (!stored) throw new CacheError('LLMCACHE_TIMEOUT', `entry ${id} was queued but not confirmed within ${this.deps.writeTimeoutMs} ms`);
    return { id, created: stored.created };
  }

  /** Deletes one entry of a tenant; false when it does not exist (or belongs to another tenant). */
  async remove(tenant: string, id: string): Promise<boolean> {
    const entry = await this.deps.stores.entries.get(id);
    if (!entry || entry.tenant !== tenant) return false;
    const removed = await this.deps.stores.remove([id]);
    this.exact?.dropEntries([id]);
    await announceEvictions(this.deps.bus, removed, 'DELETE');
    return removed.length > 0;
  }

  /** Removes a tenant's entries of a namespace, or carrying any of the tags; returns how many. */
  async purge(tenant: string, filter: { namespace?: string; tags?: string[] }): Promise<number> {
    const ids = await this.deps.stores.entries.findIds({ tenant, ...filter });
    const removed = await this.deps.stores.remove(ids);
    this.exact?.dropEntries(ids);
    await announceEvictions(this.deps.bus, removed, 'PURGE');
    return removed.length;
  }

  /** The threshold in force for a target, and where it comes from. */
  thresholdOf(target: ThresholdTarget): { threshold: number; source: ThresholdSource } {
    return this.deps.thresholds.lookup(target.tenant, target.namespace);
  }

  /** Keeps a threshold, applies it here at once and tells every other gateway and matcher to read it. */
  async setThreshold(target: ThresholdTarget, value: number): Promise<void> {
    if (!Number.isFinite(value) || value < 0 || value > 1)
      throw new CacheError('LLMCACHE_VALIDATION', 'threshold must be a number from 0 to 1');
    const { thresholds } = this.deps;
    if (!thresholds.has(target.tenant, target.namespace) && thresholds.countOf(target.tenant) >= MAX_THRESHOLDS_PER_TENANT) {
      throw new CacheError(
        'LLMCACHE_VALIDATION',
        `a tenant keeps at most ${MAX_THRESHOLDS_PER_TENANT} thresholds; remove one (DELETE /v1/admin/threshold?namespace=...) first`,
      );
    }
    await thresholds.set({ ...target, threshold: value });
    await this.announceThresholds(value);
  }

  /** Removes a threshold, so the broader one applies again, here at once and everywhere after the announcement. */
  async unsetThreshold(target: ThresholdTarget): Promise<void> {
    if (await this.deps.thresholds.unset(target.tenant, target.namespace))
      await this.announceThresholds(this.thresholdOf(target).threshold);
  }

  private async announceThresholds(value: number): Promise<void> {
    await this.deps.bus.publish(TOPICS.control, 'threshold', { setting: 'THRESHOLD', value, at: Date.now(), origin: this.instanceId });
  }

  /** Tells every other gateway to forget its cached tokens, so a revocation applies everywhere at once. */
  async announceTokensRevoked(): Promise<void> {
    await this.deps.bus.publish(TOPICS.control, 'tokens', { setting: 'TOKENS_REVOKED', value: 0, at: Date.now(), origin: this.instanceId });
  }

  /** Every live entry of a tenant, for export, a page at a time. */
  async *exportEntries(tenant: string): AsyncGenerator<ExportedEntry> {
    const page = 200;
    for (let after: string | null = null; ;) {
      const entries = await this.deps.stores.entries.scan(tenant, after, page);
      if (entries.length === 0) return;
      const vectors = await this.deps.stores.vectors.getVectors(entries.map((entry) => entry.id));
      const now = Date.now();
      for (const entry of entries) {
        const vector = vectors.get(entry.id);
        const response = await this.deps.stores.responseOf(entry);
        if (!vector || response === null || (entry.expiresAt !== null && entry.expiresAt <= now)) continue;
        yield {
          namespace: entry.namespace,
          model: entry.model,
          paramsHash: entry.paramsHash,
          contextHash: entry.contextHash,
          prompt: entry.prompt,
          response,
          tags: entry.tags,
          createdAt: entry.createdAt,
          expiresAt: entry.expiresAt,
          embeddingModel: vector.embeddingModel,
          vector: encodeVector(vector.vector),
        };
      }
      after = entries[entries.length - 1]?.id ?? null;
      if (entries.length < page) return;
    }
  }

  /** Writes exported entries into a tenant (ids follow from the tenant's scope) and waits until all are stored. */
  async importEntries(
    tenant: string,
    entries: readonly ExportedEntry[],
    requestId: string,
  ): Promise<{ imported: number; created: number }> {
    const acks = await Promise.all(
      entries.map(async (entry, index) => {
        const scope: Scope = {
          tenant,
          namespace: entry.namespace,
          model: entry.model,
          paramsHash: entry.paramsHash,
          contextHash: entry.contextHash,
        };
        const scopeKey = scopeKeyOf(scope);
        const id = `${requestId}:${index}`;
        const ack = this.writes.wait(id, this.deps.writeTimeoutMs);
        await this.deps.bus.publish(TOPICS.writes, scopeKey, {
          entryId: entryIdOf(scopeKey, entry.prompt),
          requestId: id,
          replyTo: this.replyTo,
          ...scope,
          scopeKey,
          prompt: entry.prompt,
          response: entry.response,
          tags: entry.tags,
          createdAt: entry.createdAt,
          expiresAt: entry.expiresAt,
          embeddingModel: entry.embeddingModel,
          vector: decodeVector(entry.vector),
        });
        return ack;
      }),
    );
    const missing = acks.filter((ack) => ack === undefined).length;
    if (missing > 0)
      throw new CacheError(
        'LLMCACHE_TIMEOUT',
        `${missing} of ${entries.length} imported entries were not confirmed within ${this.deps.writeTimeoutMs} ms`,
      );
    return { imported: entries.length, created: acks.filter((ack) => ack?.created).length };
  }

  /** Entries, bytes and hits per namespace of a tenant, with the gateway's own figures. */
  async stats(tenant: string): Promise<{ threshold: number; exactTierEntries: number; namespaces: NamespaceStats[] }> {
    return {
      threshold: this.deps.thresholds.get(tenant, ANY),
      exactTierEntries: this.exactTierSize,
      namespaces: await this.deps.stores.entries.namespaceStats(tenant),
    };
  }

  private countOf(tenant: string): { exactHits: number; semanticHits: number; misses: number } {
    let counts = this.counts.get(tenant);
    if (!counts) this.counts.set(tenant, (counts = { exactHits: 0, semanticHits: 0, misses: 0 }));
    return counts;
  }

  /** A tenant's lookups at this gateway since it started: hits by tier, misses and the hit rate. */
  lookupCounts(tenant: string): LookupCounts {
    const { exactHits, semanticHits, misses } = this.counts.get(tenant) ?? { exactHits: 0, semanticHits: 0, misses: 0 };
    const total = exactHits + semanticHits + misses;
    return { total, exactHits, semanticHits, misses, hitRate: total === 0 ? 0 : (exactHits + semanticHits) / total };
  }

  get exactTierSize(): number {
    return this.exact?.size ?? 0;
  }

  async close(): Promise<void> {
    await this.hits.close();
    this.lookups.close();
    this.writes.close();
    await this.subscription?.close();
  }
}
