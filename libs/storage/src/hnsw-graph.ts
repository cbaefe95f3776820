import { Index, MetricKind, ScalarKind } from 'usearch';

/** Shape of the HNSW graph of a scope. */
export interface HnswOptions {
  /** Neighbours per node (HNSW M): more raises recall and memory. */
  m: number;
  /** Candidate list while inserting (efConstruction): more builds a better graph, slower. */
  efConstruction: number;
  /** Candidate list while searching (efSearch): more raises recall, slower. */
  efSearch: number;
}

/**
 * An HNSW graph over one scope's vectors, keyed by the scope's numeric labels.
 *
 * Built on usearch rather than hnswlib-node: usearch is actively released and ships prebuilt
 * binaries inside its npm package (no compiler or Node headers at install), adds a batch of vectors
 * on several threads, and reuses the slots of removed vectors. Versions from 2.26 on require Node 22,
 * hence the 2.25 line. Inner product is the metric because stored vectors are normalized, which makes
 * it the cosine the exact scan computes.
 */
export class HnswGraph {
  private readonly index: Index;

  constructor(
    readonly dimensions: number,
    options: HnswOptions,
  ) {
    this.index = new Index({
      dimensions,
      metric: MetricKind.IP,
      quantization: ScalarKind.F32,
      connectivity: options.m,
      expansion_add: options.efConstruction,
      expansion_search: options.efSearch,
      multi: false,
    });
  }

  get size(): number {
    return this.index.size();
  }

  /** Adds vectors (`labels.length` rows of `vectors`) on up to `threads` threads. */
  add(labels: readonly number[], vectors: Float32Array, threads: number): void {
    if (labels.length === 0) return;
    this.index.add(BigUint64Array.from(labels, BigInt), vectors.subarray(0, labels.length * this.dimensions), threads);
  }

  has(label: number): boolean {
    return this.index.contains(BigInt(label)) as boolean;
  }

  remove(label: number): void {
    this.index.remove(BigInt(label));
  }

  /** Labels of up to `count` nearest vectors, nearest first. */
  search(vector: Float32Array, count: number): number[] {
    const found = this.index.search(vector, Math.max(1, count), 1);
    return Array.from(found.keys, Number);
  }
}
