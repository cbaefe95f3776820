import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Lag of one consumer group on one topic (what the buses report). */
export interface LagSample {
  group: string;
  topic: string;
  lag: number;
}

/** llmcache-matcher -> matcher; a gateway's own reply group llmcache-gateway-<id> -> gateway. */
const serviceOfGroup = (group: string): string => /^llmcache-([a-z]+)/.exec(group)?.[1] ?? group;

/** Size of one namespace of one tenant (what the entry stores report). */
export interface NamespaceSample {
  tenant: string;
  namespace: string;
  entries: number;
  bytes: number;
}

/** Outcomes of one namespace's verified hits (what the outcome stores report). */
export interface FalseHitSample {
  tenant: string;
  namespace: string;
  correct: number;
  wrong: number;
}

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

  readonly decisions = new Counter({
    name: 'llmcache_decisions_total',
    help: 'Semantic lookups decided, by namespace, decision policy (static, verified) and decision (hit, miss, explore)',
    labelNames: ['namespace', 'policy', 'decision'] as const,
    registers: [this.registry],
  });
  readonly explorationRate = new Gauge({
    name: 'llmcache_exploration_rate',
    help: 'Share of the last 1000 verified-policy decisions of a namespace that explored (answered upstream to check a would-be hit)',
    labelNames: ['namespace'] as const,
    registers: [this.registry],
  });
  readonly explorationUpstreamCalls = new Counter({
    name: 'llmcache_exploration_upstream_calls_total',
    help: 'Upstream model calls made for explored lookups (would-be hits answered upstream to verify them)',
    labelNames: ['namespace'] as const,
    registers: [this.registry],
  });
  readonly outcomes = new Counter({
    name: 'llmcache_outcomes_total',
    help: 'Verified outcomes recorded, by namespace, source (verification, feedback), kind (hit, explored, near_miss) and result (correct, wrong)',
    labelNames: ['namespace', 'source', 'kind', 'result'] as const,
    registers: [this.registry],
  });

  private falseHitSource: (() => Promise<FalseHitSample[]>) | undefined;

  /** Read from the outcome store at each scrape, by the process that runs the evictor. */
  readonly observedFalseHitRate = new Gauge({
    name: 'llmcache_observed_false_hit_rate',
    help: 'Share of verified hits (explored would-be hits and hits with feedback) whose answer was wrong, by tenant and namespace',
    labelNames: ['tenant', 'namespace'] as const,
    registers: [this.registry],
    collect: async () => {
      const samples = await this.falseHitSource?.().catch(() => undefined);
      if (!samples) return;
      this.observedFalseHitRate.reset();
      for (const { tenant, namespace, correct, wrong } of samples) {
        if (correct + wrong > 0) this.observedFalseHitRate.set({ tenant, namespace }, wrong / (correct + wrong));
      }
    },
  });

  watchFalseHits(source: () => Promise<FalseHitSample[]>): void {
    this.falseHitSource = source;
  }

  private lagSource: (() => Promise<LagSample[]>) | undefined;
  private namespaceSource: (() => Promise<NamespaceSample[]>) | undefined;

  /** Read from the bus at each scrape; a failed read leaves the last values. */
  readonly consumerLag = new Gauge({
    name: 'llmcache_consumer_lag',
    help: 'Events published but not yet handled, by service (consumer group) and topic',
    labelNames: ['service', 'topic'] as const,
    registers: [this.registry],
    collect: async () => {
      const samples = await this.lagSource?.().catch(() => undefined);
      if (!samples) return;
      this.consumerLag.reset();
      for (const sample of samples) this.consumerLag.inc({ service: serviceOfGroup(sample.group), topic: sample.topic }, sample.lag);
    },
  });

  /** Read from the entry store at each scrape, by the process that runs the evictor. */
  readonly namespaceEntries = new Gauge({
    name: 'llmcache_entries',
    help: 'Live entries by tenant and namespace',
    labelNames: ['tenant', 'namespace'] as const,
    registers: [this.registry],
    collect: async () => {
      const samples = await this.namespaceSamples();
      if (!samples) return;
      this.namespaceEntries.reset();
      for (const { tenant, namespace, entries } of samples) this.namespaceEntries.set({ tenant, namespace }, entries);
    },
  });
  readonly namespaceBytes = new Gauge({
    name: 'llmcache_entry_bytes',
    help: 'Bytes of the entries (prompt and response) by tenant and namespace',
    labelNames: ['tenant', 'namespace'] as const,
    registers: [this.registry],
    collect: async () => {
      const samples = await this.namespaceSamples();
      if (!samples) return;
      this.namespaceBytes.reset();
      for (const { tenant, namespace, bytes } of samples) this.namespaceBytes.set({ tenant, namespace }, bytes);
    },
  });
  private namespaceRead: { at: number; samples: Promise<NamespaceSample[] | undefined> } | undefined;

  /** One store read serves both gauges of a scrape. */
  private namespaceSamples(): Promise<NamespaceSample[] | undefined> {
    const now = Date.now();
    if (!this.namespaceRead || now - this.namespaceRead.at > 1000) {
      this.namespaceRead = { at: now, samples: this.namespaceSource?.().catch(() => undefined) ?? Promise.resolve(undefined) };
    }
    return this.namespaceRead.samples;
  }

  watchLag(source: () => Promise<LagSample[]>): void {
    this.lagSource = source;
  }

  watchNamespaces(source: () => Promise<NamespaceSample[]>): void {
    this.namespaceSource = source;
  }

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'llmcache_process_' });
  }

  /** Starts a timer; call the result to record the elapsed seconds for a stage. */
  time(stage: string): () => void {
    return this.stageSeconds.startTimer({ stage });
  }
}
