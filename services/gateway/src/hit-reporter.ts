import type { EventBus } from '@llm-cache/bus';
import { TOPICS, type ScopeFields } from '@llm-cache/codec';
import type { Logger } from '@llm-cache/telemetry';

interface Pending {
  scope: ScopeFields;
  count: number;
  lastAt: number;
  score: number;
  createdAt: number;
  expiresAt: number | null;
}

/**
 * Reports exact-tier hits on the hit stream, so the evictor's recency and frequency count them too.
 * Hits are summed per entry and sent once per interval (one event with `hitCount`), which keeps the
 * fast path free of bus traffic.
 */
export class HitReporter {
  private pending = new Map<string, Pending>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly bus: EventBus,
    private readonly logger: Logger,
    intervalMs = 1000,
  ) {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  record(entryId: string, scope: ScopeFields, hit: { score: number; createdAt: number; expiresAt: number | null }, at: number): void {
    const current = this.pending.get(entryId);
    if (current) {
      current.count++;
      current.lastAt = at;
    } else {
      this.pending.set(entryId, { scope, count: 1, lastAt: at, score: hit.score, createdAt: hit.createdAt, expiresAt: hit.expiresAt });
    }
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    for (const [entryId, hit] of batch) {
      await this.bus
        .publish(TOPICS.hits, hit.scope.scopeKey, {
          requestId: `exact:${entryId}:${hit.lastAt}`,
          replyTo: null,
          ...hit.scope,
          entryId,
          score: hit.score,
          response: null,
          responseRef: null,
          entryCreatedAt: hit.createdAt,
          entryExpiresAt: hit.expiresAt,
          decidedAt: hit.lastAt,
          hitCount: hit.count,
        })
        .catch((error: unknown) => this.logger.warn({ err: error }, 'could not report exact-tier hits'));
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
