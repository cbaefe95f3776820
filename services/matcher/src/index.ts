import { randomUUID } from 'node:crypto';
import type { CacheEntry, RunningService, VectorMatch } from '@llm-cache/core';
import { replyOptions, type EventBus } from '@llm-cache/bus';
import { scopeFieldsOf, TOPICS, type EmbeddedRequestEvent, type VerifyRequest } from '@llm-cache/codec';
import { STATIC_DECISIONS, type DecisionSettings } from '@llm-cache/policy';
import type { CacheStores } from '@llm-cache/storage';
import type { Logger, Metrics } from '@llm-cache/telemetry';
import { DecisionPolicies } from './decisions.ts';

export interface MatcherServiceDeps {
  bus: EventBus;
  stores: CacheStores;
  logger: Logger;
  metrics: Metrics;
  /** The threshold of a tenant's namespace, for requests that carry none (stream lookups). */
  thresholds: { get(tenant: string, namespace: string): number; refresh(): Promise<void> };
  concurrency?: number;
  /** Candidates examined per search (the best live one decides). */
  candidates?: number;
  /** The decision policy of each namespace (all static when absent). */
  decision?: DecisionSettings;
}

/**
 * Searches the request's scope, decides hit or miss, and emits the outcome. A request that names a
 * threshold, and every request of a static namespace, is decided against that threshold; in a
 * namespace with the verified policy a request without one is decided by the policy, which may also
 * explore (answer a miss and have it verified).
 */
export async function startMatcher(deps: MatcherServiceDeps): Promise<RunningService> {
  const { bus, stores, metrics } = deps;
  const k = deps.candidates ?? 4;
  const policies = new DecisionPolicies(deps.decision ?? STATIC_DECISIONS, stores.outcomes, metrics);

  /** The best candidate scoring at least `minScore` that is still there, live and in the request's scope. */
  const bestLive = async (
    matches: VectorMatch[],
    scopeKey: string,
    now: number,
    minScore = -Infinity,
  ): Promise<{ match: VectorMatch; entry: CacheEntry } | null> => {
    for (const match of matches) {
      if (match.score < minScore) break;
      const entry = await stores.entries.get(match.id);
      if (!entry || (entry.expiresAt !== null && entry.expiresAt <= now) || entry.scopeKey !== scopeKey) continue;
      return { match, entry };
    }
    return null;
  };

  const handle = async (event: EmbeddedRequestEvent): Promise<void> => {
    const { request } = event;
    const now = Date.now();
    const stop = metrics.time('search');
    const matches = await stores.vectors.search({
      scopeKey: request.scopeKey,
      embeddingModel: event.embeddingModel,
      vector: Float32Array.from(event.vector),
      k,
      now,
      ...(request.minCreatedAt === null ? {} : { minCreatedAt: request.minCreatedAt }),
    });
    stop();
    const threshold = request.threshold ?? deps.thresholds.get(request.tenant, request.namespace);
    const scope = scopeFieldsOf(request);
    // A gateway reads one partition of the outcome topics, the one its address names; stream
    // consumers read them whole, and their outcomes go by scope key like every other record.
    const reply = replyOptions(request.replyTo);
    const verified = request.threshold === null && policies.isVerified(request.namespace);
    let verify: VerifyRequest | null = null;
    let found: { match: VectorMatch; entry: CacheEntry } | null = null;
    if (verified) {
      const policy = await policies.verifiedFor(request.tenant, request.namespace);
      found = await bestLive(matches, request.scopeKey, now);
      const observations = found ? await stores.outcomes.observations(found.entry.id) : [];
      const decision = policy.decide(
        { candidate: found ? { score: found.match.score, hitCount: found.entry.hitCount, observations } : null, threshold },
        Math.random,
      );
      policies.count(request.tenant, request.namespace, policy.name, decision.kind);
      if (found && decision.verify) {
        verify = {
          entryId: found.entry.id,
          score: found.match.score,
          level: decision.level,
          explored: decision.kind === 'explore',
          risk: decision.risk,
        };
      }
      if (decision.kind !== 'hit') found = null;
    } else {
      found = await bestLive(matches, request.scopeKey, now, threshold);
      policies.count(request.tenant, request.namespace, 'static', found ? 'hit' : 'miss');
    }
    if (found) {
      const { match, entry } = found;
      metrics.score.observe({ outcome: 'hit' }, match.score);
      deps.logger.debug({ requestId: request.requestId, entryId: entry.id, score: match.score }, 'lookup hit');
      await bus.publish(
        TOPICS.hits,
        request.scopeKey,
        {
          requestId: request.requestId,
          replyTo: request.replyTo,
          ...scope,
          entryId: entry.id,
          score: match.score,
          response: entry.response,
          responseRef: entry.responseRef,
          entryCreatedAt: entry.createdAt,
          entryExpiresAt: entry.expiresAt,
          decidedAt: Date.now(),
          hitCount: 1,
        },
        reply,
      );
      return;
    }
    const bestScore = matches[0]?.score ?? null;
    if (bestScore !== null) metrics.score.observe({ outcome: 'miss' }, bestScore);
    deps.logger.debug({ requestId: request.requestId, bestScore }, 'lookup miss');
    await bus.publish(
      TOPICS.misses,
      request.scopeKey,
      {
        requestId: request.requestId,
        replyTo: request.replyTo,
        ...scope,
        text: request.text,
        bestScore,
        embeddingModel: event.embeddingModel,
        vector: event.vector,
        decidedAt: Date.now(),
        verify,
      },
      reply,
    );
  };

  const subscription = await bus.subscribe({
    group: 'llmcache-matcher',
    concurrency: deps.concurrency ?? 32,
    handlers: { [TOPICS.embedded]: handle },
  });
  // Every matcher hears every threshold change (its own group), to decide stream lookups by it at once.
  const settings = await bus.subscribe({
    group: `llmcache-matcher-settings-${randomUUID()}`,
    ephemeral: true,
    handlers: {
      [TOPICS.control]: async (event) => {
        if (event.setting === 'THRESHOLD') await deps.thresholds.refresh();
      },
    },
  });
  return {
    name: 'matcher',
    close: async () => {
      await settings.close();
      await subscription.close();
    },
  };
}
