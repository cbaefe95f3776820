import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SCORE_BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98, 1];

/** Prometheus metrics of one process, all named llmcache_*. */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'llmcache_http_requests_total',
    help: 'HTTP requests by route and status code',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  readonly lookups = new Counter({
    name: 'llmcache_lookups_total',
    help: 'Cache lookups by outcome (hit, miss), tier (exact, semantic) and namespace',
    labelNames: ['outcome', 'tier', 'namespace'] as const,
    registers: [this.registry],
  });
  readonly score = new Histogram({
    name: 'llmcache_similarity_score',
    help: 'Best similarity score of semantic lookups, by outcome',
    labelNames: ['outcome'] as const,
    buckets: SCORE_BUCKETS,
    registers: [this.registry],
  });
  readonly stageSeconds = new Histogram({
    name: 'llmcache_stage_duration_seconds',
    help: 'Latency per stage (embed, search, store, lookup, upstream)',
    labelNames: ['stage'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly events = new Counter({
    name: 'llmcache_bus_events_total',
    help: 'Bus events handled by topic and result (ok, retried, dead_lettered)',
    labelNames: ['topic', 'result'] as const,
    registers: [this.registry],
  });

  readonly evictions = new Counter({
    name: 'llmcache_evictions_total',
    help: 'Entries removed, by reason (ttl, capacity, delete, purge)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly tokensSaved = new Counter({
    name: 'llmcache_tokens_saved_total',
    help: 'Estimated prompt and completion tokens not sent upstream thanks to hits',
    labelNames: ['namespace', 'model'] as const,
    registers: [this.registry],
  });
  readonly costSaved = new Counter({
    name: 'llmcache_cost_saved_total',
    help: 'Estimated money not spent upstream thanks to hits, from the pricing table (currency of the table)',
    labelNames: ['namespace', 'model'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'llmcache_process_' });
  }

  /** Starts a timer; call the result to record the elapsed seconds for a stage. */
  time(stage: string): () => void {
    return this.stageSeconds.startTimer({ stage });
  }
}
