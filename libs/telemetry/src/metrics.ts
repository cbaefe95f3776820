import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type CounterConfiguration,
  type GaugeConfiguration,
} from 'prom-client';
import { OTHER, TopValues, topSamples } from './top-values.ts';

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

type Labels<T extends string> = Partial<Record<T, string | number>>;

/** What dropping a namespace's series needs of a metric. */
interface LabelledSeries {
  get(): Promise<{ values: Array<{ labels: Labels<string> }> }>;
  remove(labels: Labels<string>): void;
}

/** The labels with their namespace (if any) through the bound. */
function bounded<T extends string>(labels: Labels<T>, namespaces: TopValues): Labels<T> {
  const namespace = (labels as Labels<'namespace'>).namespace;
  return namespace === undefined ? labels : { ...labels, namespace: namespaces.label(String(namespace)) };
}

/** A counter whose namespace label goes through the bound: beyond it, the count goes to `other`. */
class NamespaceCounter<T extends string> {
  private readonly counter: Counter<T>;

  constructor(
    configuration: CounterConfiguration<T>,
    private readonly namespaces: TopValues,
  ) {
    this.counter = new Counter(configuration);
  }

  inc(labels: Labels<T>, value?: number): void {
    this.counter.inc(bounded(labels, this.namespaces), value);
  }

  get(): ReturnType<Counter<T>['get']> {
    return this.counter.get();
  }

  remove(labels: Labels<T>): void {
    this.counter.remove(labels);
  }
}

/** A gauge of a per-namespace ratio: namespaces beyond the bound have none (a ratio does not add up). */
class NamespaceGauge<T extends string> {
  private readonly gauge: Gauge<T>;

  constructor(
    configuration: GaugeConfiguration<T>,
    private readonly namespaces: TopValues,
  ) {
    this.gauge = new Gauge(configuration);
  }

  set(labels: Labels<T>, value: number): void {
    const namespace = (labels as Labels<'namespace'>).namespace;
    if (namespace === undefined || this.namespaces.label(String(namespace)) !== OTHER) this.gauge.set(labels, value);
  }

  get(): ReturnType<Gauge<T>['get']> {
    return this.gauge.get();
  }

  remove(labels: Labels<T>): void {
    this.gauge.remove(labels);
  }
}

/** Namespaces that keep their own label unless the configuration says otherwise. */
export const DEFAULT_NAMESPACE_LABELS = 100;

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SCORE_BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98, 1];

/** Prometheus metrics of one process, all named llmcache_*. */
export class Metrics {
  readonly registry = new Registry();
  /**
   * The namespaces with their own label (the busiest, see TopValues); the rest are counted under
   * namespace="other", so hostile or numerous namespaces cannot grow the exposition without bound.
   */
  private readonly namespaces = new TopValues({ limit: DEFAULT_NAMESPACE_LABELS });
  readonly requests = new Counter({
    name: 'llmcache_http_requests_total',
    help: 'HTTP requests by route and status code',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  readonly lookups = new NamespaceCounter(
    {
      name: 'llmcache_lookups_total',
      help: 'Cache lookups by outcome (hit, miss), tier (exact, semantic) and namespace',
      labelNames: ['outcome', 'tier', 'namespace'] as const,
      registers: [this.registry],
    },
    this.namespaces,
  );
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

  readonly tokensSaved = new NamespaceCounter(
    {
      name: 'llmcache_tokens_saved_total',
      help: 'Estimated prompt and completion tokens not sent upstream thanks to hits',
      labelNames: ['namespace', 'model'] as const,
      registers: [this.registry],
    },
    this.namespaces,
  );
  readonly costSaved = new NamespaceCounter(
    {
      name: 'llmcache_cost_saved_total',
      help: 'Estimated money not spent upstream thanks to hits, from the pricing table (currency of the table)',
      labelNames: ['namespace', 'model'] as const,
      registers: [this.registry],
    },
    this.namespaces,
  );

  readonly decisions = new NamespaceCounter(
    {
      name: 'llmcache_decisions_total',
      help: 'Semantic lookups decided, by namespace, decision policy (static, verified) and decision (hit, miss, explore)',
      labelNames: ['namespace', 'policy', 'decision'] as const,
      registers: [this.registry],
    },
    this.namespaces,
  );
  readonly explorationRate = new NamespaceGauge(
    {
      name: 'llmcache_exploration_rate',
      help: 'Share of the last 1000 verified-policy decisions of a namespace that explored (answered upstream to check a would-be hit)',
      labelNames: ['namespace'] as const,
      registers: [this.registry],
    },
    this.namespaces,
  );
  readonly explorationUpstreamCalls = new NamespaceCounter(
    {
      name: 'llmcache_exploration_upstream_calls_total',
      help: 'Upstream model calls made for explored lookups (would-be hits answered upstream to verify them)',
      labelNames: ['namespace'] as const,
      registers: [this.registry],
    },
    this.namespaces,
  );
  readonly outcomes = new NamespaceCounter(
    {
      name: 'llmcache_outcomes_total',
      help: 'Verified outcomes recorded, by namespace, source (verification, feedback), kind (hit, explored, near_miss) and result (correct, wrong)',
      labelNames: ['namespace', 'source', 'kind', 'result'] as const,
      registers: [this.registry],
    },
    this.namespaces,
  );

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
      const counted = samples.filter(({ correct, wrong }) => correct + wrong > 0);
      const merge = (rest: FalseHitSample[]): FalseHitSample => ({
        tenant: OTHER,
        namespace: OTHER,
        correct: rest.reduce((sum, sample) => sum + sample.correct, 0),
        wrong: rest.reduce((sum, sample) => sum + sample.wrong, 0),
      });
      for (const { tenant, namespace, correct, wrong } of topSamples(counted, this.namespaceLimit, (s) => s.correct + s.wrong, merge)) {
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

  /**
   * One store read serves both gauges of a scrape: the largest namespaces by entries (of any tenant)
   * as they are, the others summed under tenant="other", namespace="other".
   */
  private namespaceSamples(): Promise<NamespaceSample[] | undefined> {
    const now = Date.now();
    if (!this.namespaceRead || now - this.namespaceRead.at > 1000) {
      const merge = (rest: NamespaceSample[]): NamespaceSample => ({
        tenant: OTHER,
        namespace: OTHER,
        entries: rest.reduce((sum, sample) => sum + sample.entries, 0),
        bytes: rest.reduce((sum, sample) => sum + sample.bytes, 0),
      });
      const read = this.namespaceSource?.().then(
        (samples) => topSamples(samples, this.namespaceLimit, (sample) => sample.entries, merge),
        () => undefined,
      );
      this.namespaceRead = { at: now, samples: read ?? Promise.resolve(undefined) };
    }
    return this.namespaceRead.samples;
  }

  watchLag(source: () => Promise<LagSample[]>): void {
    this.lagSource = source;
  }

  watchNamespaces(source: () => Promise<NamespaceSample[]>): void {
    this.namespaceSource = source;
  }

  private namespaceLimit = DEFAULT_NAMESPACE_LABELS;
  /** The metrics whose series the namespace bound drops when a namespace loses its own label. */
  private readonly namespaceMetrics: readonly LabelledSeries[] = [
    this.lookups,
    this.tokensSaved,
    this.costSaved,
    this.decisions,
    this.explorationRate,
    this.explorationUpstreamCalls,
    this.outcomes,
  ];

  constructor(options: { defaultMetrics?: boolean; namespaceLabels?: number } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'llmcache_process_' });
    this.namespaces.onDrop((namespace) => this.dropNamespace(namespace));
    if (options.namespaceLabels !== undefined) this.limitNamespaces(options.namespaceLabels);
  }

  /**
   * How many namespaces keep their own label: the busiest ones for the counters (see TopValues), the
   * largest for the entry gauges; the rest are counted under namespace="other".
   */
  limitNamespaces(limit: number): void {
    this.namespaceLimit = limit;
    this.namespaces.setLimit(limit);
  }

  private dropNamespace(namespace: string): void {
    for (const metric of this.namespaceMetrics) {
      // Nothing else awaits these metrics' get() (they collect nothing), so the series go right away.
      void metric.get().then(
        ({ values }) => values.filter(({ labels }) => labels.namespace === namespace).forEach(({ labels }) => metric.remove(labels)),
        () => undefined,
      );
    }
  }

  /** Starts a timer; call the result to record the elapsed seconds for a stage. */
  time(stage: string): () => void {
    return this.stageSeconds.startTimer({ stage });
  }
}
