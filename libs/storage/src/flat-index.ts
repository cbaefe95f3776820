import type { VectorMatch, VectorQuery, VectorRecord } from '@llm-cache/core';

/** True when the entry at `expiresAt`/`createdAt` may be returned to `query`. */
const isLive = (query: VectorQuery, createdAt: number, expiresAt: number | null): boolean =>
  (expiresAt == null || expiresAt > query.now) && (query.minCreatedAt === undefined || createdAt >= query.minCreatedAt);

const clip = (score: number): number => Math.min(1, Math.max(0, score));

/**
 * The vectors of one scope and one embedding model, packed in one Float32Array and searched by an
 * exact scan. Hand-written because it is the product's core loop: a per-scope scan over packed
 * normalized vectors is exact and, at the sizes most scopes reach, faster than building a graph.
 * It is also the reference an approximate index is checked against and falls back to.
 *
 * Every entry also gets a numeric label, stable while the entry lives (positions move on removal),
 * so that an approximate index can name entries by a number.
 */
export class ExactScope {
  ids: string[] = [];
  labels: number[] = [];
  createdAt: number[] = [];
  expiresAt: Array<number | null> = [];
  vectors: Float32Array;
  readonly positions = new Map<string, number>();
  readonly positionsByLabel = new Map<number, number>();
  private nextLabel = 0;

  constructor(readonly dimensions: number) {
    this.vectors = new Float32Array(dimensions * 16);
  }

  get size(): number {
    return this.ids.length;
  }

  /** Inserts or replaces; returns the entry's label and whether it replaced a vector. */
  set(record: VectorRecord): { label: number; replaced: boolean } {
    let position = this.positions.get(record.id);
    const replaced = position !== undefined;
    if (position === undefined) {
      position = this.ids.length;
      if ((position + 1) * this.dimensions > this.vectors.length) {
        const grown = new Float32Array(this.vectors.length * 2);
        grown.set(this.vectors);
        this.vectors = grown;
      }
      const label = this.nextLabel++;
      this.ids.push(record.id);
      this.labels.push(label);
      this.createdAt.push(record.createdAt);
      this.expiresAt.push(record.expiresAt);
      this.positions.set(record.id, position);
      this.positionsByLabel.set(label, position);
    } else {
      this.createdAt[position] = record.createdAt;
      this.expiresAt[position] = record.expiresAt;
    }
    this.vectors.set(record.vector, position * this.dimensions);
    return { label: this.labels[position] as number, replaced };
  }

  /** Removes by moving the last vector into the hole; returns the removed entry's label. */
  remove(id: string): number | undefined {
    const position = this.positions.get(id);
    if (position === undefined) return undefined;
    const label = this.labels[position] as number;
    const last = this.ids.length - 1;
    if (position !== last) {
      const lastId = this.ids[last] as string;
      const lastLabel = this.labels[last] as number;
      this.ids[position] = lastId;
      this.labels[position] = lastLabel;
      this.createdAt[position] = this.createdAt[last] as number;
      this.expiresAt[position] = this.expiresAt[last] ?? null;
      this.vectors.copyWithin(position * this.dimensions, last * this.dimensions, (last + 1) * this.dimensions);
      this.positions.set(lastId, position);
      this.positionsByLabel.set(lastLabel, position);
    }
    this.ids.pop();
    this.labels.pop();
    this.createdAt.pop();
    this.expiresAt.pop();
    this.positions.delete(id);
    this.positionsByLabel.delete(label);
    return label;
  }

  /** The stored vector of a position (a view, valid until the next change). */
  vectorAt(position: number): Float32Array {
    return this.vectors.subarray(position * this.dimensions, (position + 1) * this.dimensions);
  }

  /**
   * The entry labelled `label` scored against the query exactly as the scan scores it, or undefined
   * when it is gone, expired or too old.
   */
  matchOf(label: number, query: VectorQuery): VectorMatch | undefined {
    const position = this.positionsByLabel.get(label);
    if (position === undefined) return undefined;
    if (!isLive(query, this.createdAt[position] as number, this.expiresAt[position] ?? null)) return undefined;
    const { vector } = query;
    const data = this.vectors;
    const offset = position * this.dimensions;
    let dot = 0;
    for (let d = 0; d < this.dimensions; d++) dot += (data[offset + d] as number) * (vector[d] as number);
    return { id: this.ids[position] as string, score: clip(dot) };
  }

  search(query: VectorQuery): VectorMatch[] {
    const { vector, k } = query;
    const dims = this.dimensions;
    const data = this.vectors;
    const best: VectorMatch[] = [];
    for (let i = 0; i < this.ids.length; i++) {
      if (!isLive(query, this.createdAt[i] as number, this.expiresAt[i] ?? null)) continue;
      let dot = 0;
      const offset = i * dims;
      for (let d = 0; d < dims; d++) dot += (data[offset + d] as number) * (vector[d] as number);
      if (best.length === k && dot <= (best[k - 1] as VectorMatch).score) continue;
      const match = { id: this.ids[i] as string, score: dot };
      let at = best.length;
      while (at > 0 && (best[at - 1] as VectorMatch).score < dot) at--;
      best.splice(at, 0, match);
      if (best.length > k) best.pop();
    }
    for (const match of best) match.score = clip(match.score);
    return best;
  }
}
