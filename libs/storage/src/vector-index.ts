import { availableParallelism } from 'node:os';
import type { VectorMatch, VectorQuery, VectorRecord } from '@llm-cache/core';
import { ExactScope } from './flat-index.ts';
import { HnswGraph, type HnswOptions } from './hnsw-graph.ts';

/** When a scope gets an HNSW graph, and the graph's shape. */
export interface VectorIndexOptions extends HnswOptions {
  /** A scope is searched through an HNSW graph once it holds more than this many vectors; 0 = never. */
  annAbove: number;
  /** Threads that add a backlog of vectors to a graph; 0 = every core. */
  buildThreads: number;
}

export const DEFAULT_VECTOR_INDEX_OPTIONS: VectorIndexOptions = {
  annAbove: 20_000,
  m: 16,
  efConstruction: 128,
  efSearch: 64,
  buildThreads: 0,
};

/** Time one step of a graph build may hold the event loop. */
const BUILD_STEP_MS = 25;

class Scope {
  graph: HnswGraph | undefined;
  /** Labels waiting to be added to `graph`; the graph serves searches only once this is empty. */
  backlog: number[] = [];
  backlogAt = 0;

  constructor(readonly exact: ExactScope) {}

  get building(): boolean {
    return this.backlogAt < this.backlog.length;
  }
}

/**
 * In-memory index partitioned by scope key and embedding model. A scope is scanned exactly until it
 * holds more than `annAbove` vectors; then an HNSW graph is built beside the exact vectors, a few
 * milliseconds at a time so the event loop keeps serving (the exact scan answers meanwhile), and
 * serves its searches from then on. The exact vectors stay: they score the graph's candidates the
 * way the scan does, apply expiry and minimum age, and answer when too few candidates survive.
 * A scope that shrinks below half of `annAbove` drops its graph.
 */
export class VectorIndex {
  private readonly options: VectorIndexOptions;
  private readonly scopes = new Map<string, Scope>();
  private readonly scopeOf = new Map<string, string>();
  private readonly catchingUp = new Set<Scope>();
  private step: NodeJS.Immediate | undefined;
  private stepSize = 256;
  private waiters: Array<() => void> = [];
  /** How searches were answered: by a scan, by a graph, or by a scan after a graph left too few. */
  readonly searches = { exact: 0, graph: 0, fallback: 0 };

  constructor(options: Partial<VectorIndexOptions> = {}) {
    this.options = { ...DEFAULT_VECTOR_INDEX_OPTIONS, ...options };
  }

  private static partition(scopeKey: string, embeddingModel: string): string {
    return `${scopeKey}\u0000${embeddingModel}`;
  }

  get size(): number {
    return this.scopeOf.size;
  }

  /** Vectors of a scope and how many of them its graph holds (undefined without a graph). */
  scopeStats(scopeKey: string, embeddingModel: string): { vectors: number; graph: number | undefined; building: boolean } {
    const scope = this.scopes.get(VectorIndex.partition(scopeKey, embeddingModel));
    return { vectors: scope?.exact.size ?? 0, graph: scope?.graph?.size, building: scope?.building ?? false };
  }

  upsert(record: VectorRecord): void {
    const partition = VectorIndex.partition(record.scopeKey, record.embeddingModel);
    const previous = this.scopeOf.get(record.id);
    if (previous !== undefined && previous !== partition) this.remove(record.id);
    let scope = this.scopes.get(partition);
    if (!scope) this.scopes.set(partition, (scope = new Scope(new ExactScope(record.vector.length))));
    const { label, replaced } = scope.exact.set(record);
    this.scopeOf.set(record.id, partition);
    const { graph } = scope;
    if (graph) {
      if (replaced && graph.has(label)) graph.remove(label);
      if (scope.building) scope.backlog.push(label);
      else graph.add([label], record.vector, 1);
    } else if (this.options.annAbove > 0 && scope.exact.size > this.options.annAbove) {
      this.startGraph(scope);
    }
  }

  remove(id: string): void {
    const partition = this.scopeOf.get(id);
    if (partition === undefined) return;
    this.scopeOf.delete(id);
    const scope = this.scopes.get(partition);
    if (!scope) return;
    const label = scope.exact.remove(id);
    if (scope.graph && label !== undefined) scope.graph.remove(label);
    if (scope.exact.size === 0) {
      this.dropGraph(scope);
      this.scopes.delete(partition);
    } else if (scope.graph && scope.exact.size < this.options.annAbove / 2) {
      this.dropGraph(scope);
    }
  }

  search(query: VectorQuery): VectorMatch[] {
    const scope = this.scopes.get(VectorIndex.partition(query.scopeKey, query.embeddingModel));
    if (!scope || scope.exact.dimensions !== query.vector.length) return [];
    if (!scope.graph || scope.building) {
      this.searches.exact++;
      return scope.exact.search(query);
    }
    return this.searchGraph(scope, scope.graph, query);
  }

  /**
   * Changes the candidate list of later searches. Searches ask the graph for at least this many
   * candidates, which widens usearch's search to as many, so it applies to existing graphs too.
   */
  setEfSearch(efSearch: number): void {
    this.options.efSearch = efSearch;
  }

  /** Resolves once every graph has caught up with its scope's vectors. */
  settled(): Promise<void> {
    if (this.catchingUp.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Stops building graphs (the exact scan keeps answering) and releases whoever waits on `settled`. */
  close(): void {
    if (this.step) clearImmediate(this.step);
    this.step = undefined;
    this.catchingUp.clear();
    this.release();
  }

  /**
   * Over-fetches candidates from the graph, keeps those the query may see, scored exactly; asks for
   * more when expiry or age filtered too many out, and scans exactly as the last resort.
   */
  private searchGraph(scope: Scope, graph: HnswGraph, query: VectorQuery): VectorMatch[] {
    const { k } = query;
    const first = Math.max(4 * k, 32, this.options.efSearch);
    for (const wanted of [first, 16 * first]) {
      const labels = graph.search(query.vector, wanted);
      const matches: VectorMatch[] = [];
      for (const label of labels) {
        const match = scope.exact.matchOf(label, query);
        if (match) matches.push(match);
      }
      if (matches.length >= k) {
        this.searches.graph++;
        return matches.sort((a, b) => b.score - a.score).slice(0, k);
      }
      if (labels.length < wanted) break;
    }
    this.searches.fallback++;
    return scope.exact.search(query);
  }

  private startGraph(scope: Scope): void {
    scope.graph = new HnswGraph(scope.exact.dimensions, this.options);
    scope.backlog = scope.exact.labels.slice();
    scope.backlogAt = 0;
    this.catchingUp.add(scope);
    this.schedule();
  }

  private dropGraph(scope: Scope): void {
    scope.graph = undefined;
    this.caughtUp(scope);
  }

  /** The scope has no backlog left (its graph is complete, or gone): waiters go once no scope builds. */
  private caughtUp(scope: Scope): void {
    scope.backlog = [];
    scope.backlogAt = 0;
    this.catchingUp.delete(scope);
    if (this.catchingUp.size === 0) this.release();
  }

  private schedule(): void {
    if (this.step || this.catchingUp.size === 0) return;
    this.step = setImmediate(() => {
      this.step = undefined;
      this.buildStep();
      this.schedule();
    });
  }

  /** Adds the next slice of one scope's backlog, sized so that one step takes about BUILD_STEP_MS. */
  private buildStep(): void {
    const scope = this.catchingUp.values().next().value;
    if (!scope) return;
    // Only scopes with a graph are catching up: dropGraph and close take them out of the set.
    const { exact } = scope;
    const graph = scope.graph as HnswGraph;
    const labels: number[] = [];
    const taken = new Set<number>();
    while (scope.building && labels.length < this.stepSize) {
      const label = scope.backlog[scope.backlogAt++] as number;
      if (exact.positionsByLabel.has(label) && !taken.has(label) && !graph.has(label)) {
        labels.push(label);
        taken.add(label);
      }
    }
    const vectors = new Float32Array(labels.length * exact.dimensions);
    labels.forEach((label, row) => vectors.set(exact.vectorAt(exact.positionsByLabel.get(label) as number), row * exact.dimensions));
    const started = performance.now();
    graph.add(labels, vectors, this.options.buildThreads || availableParallelism());
    const elapsed = performance.now() - started;
    if (labels.length === this.stepSize && elapsed > 0) {
      this.stepSize = Math.round(Math.min(65_536, Math.max(16, (this.stepSize * BUILD_STEP_MS) / elapsed)));
    }
    if (!scope.building) this.caughtUp(scope);
  }

  private release(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
