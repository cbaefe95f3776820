import type { VectorMatch, VectorQuery, VectorRecord } from '@llm-cache/core';

/**
 * The vectors of one scope and one embedding model, packed in one Float32Array and searched by an
 * exact scan. Hand-written because it is the product's core loop: a per-scope scan over packed
 * normalized vectors is exact and, at the sizes one scope reaches, faster than building a graph.
 */
class ScopeIndex {
  ids: string[] = [];
  createdAt: number[] = [];
  expiresAt: Array<number | null> = [];
  vectors: Float32Array;
  readonly positions = new Map<string, number>();

  constructor(readonly dimensions: number) {
    this.vectors = new Float32Array(dimensions * 16);
  }

  get size(): number {
    return this.ids.length;
  }

  set(record: VectorRecord): void {
    let position = this.positions.get(record.id);
    if (position === undefined) {
      position = this.ids.length;
      if ((position + 1) * this.dimensions > this.vectors.length) {
        const grown = new Float32Array(this.vectors.length * 2);
        grown.set(this.vectors);
        this.vectors = grown;
      }
      this.ids.push(record.id);
      this.createdAt.push(record.createdAt);
      this.expiresAt.push(record.expiresAt);
      this.positions.set(record.id, position);
    } else {
      this.createdAt[position] = record.createdAt;
      this.expiresAt[position] = record.expiresAt;
    }
    this.vectors.set(record.vector, position * this.dimensions);
  }

  /** Removes by moving the last vector into the hole. */
  remove(id: string): boolean {
    const position = this.positions.get(id);
    if (position === undefined) return false;
    const last = this.ids.length - 1;
    if (position !== last) {
      const lastId = this.ids[last] as string;
      this.ids[position] = lastId;
      this.createdAt[position] = this.createdAt[last] as number;
      this.expiresAt[position] = this.expiresAt[last] ?? null;
      this.vectors.copyWithin(position * this.dimensions, last * this.dimensions, (last + 1) * this.dimensions);
      this.positions.set(lastId, position);
    }
    this.ids.pop();
    this.createdAt.pop();
    this.expiresAt.pop();
    this.positions.delete(id);
    return true;
  }

  search(query: VectorQuery): VectorMatch[] {
    const { vector, k, now } = query;
    const dims = this.dimensions;
    const data = this.vectors;
    const best: VectorMatch[] = [];
    for (let i = 0; i < this.ids.length; i++) {
      const expires = this.expiresAt[i];
      if (expires != null && expires <= now) continue;
      if (query.minCreatedAt !== undefined && (this.createdAt[i] as number) < query.minCreatedAt) continue;
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
    for (const match of best) match.score = Math.min(1, Math.max(0, match.score));
    return best;
  }
}

/** In-memory exact index partitioned by scope key and embedding model. */
export class FlatIndex {
  private readonly scopes = new Map<string, ScopeIndex>();
  private readonly scopeOf = new Map<string, string>();

  private static partition(scopeKey: string, embeddingModel: string): string {
    return `${scopeKey}\u0000${embeddingModel}`;
  }

  get size(): number {
    return this.scopeOf.size;
  }

  upsert(record: VectorRecord): void {
    const partition = FlatIndex.partition(record.scopeKey, record.embeddingModel);
    const previous = this.scopeOf.get(record.id);
    if (previous !== undefined && previous !== partition) this.remove(record.id);
    let scope = this.scopes.get(partition);
    if (!scope) this.scopes.set(partition, (scope = new ScopeIndex(record.vector.length)));
    scope.set(record);
    this.scopeOf.set(record.id, partition);
  }

  remove(id: string): void {
    const partition = this.scopeOf.get(id);
    if (partition === undefined) return;
    const scope = this.scopes.get(partition);
    scope?.remove(id);
    if (scope && scope.size === 0) this.scopes.delete(partition);
    this.scopeOf.delete(id);
  }

  search(query: VectorQuery): VectorMatch[] {
    const scope = this.scopes.get(FlatIndex.partition(query.scopeKey, query.embeddingModel));
    if (!scope || scope.dimensions !== query.vector.length) return [];
    return scope.search(query);
  }
}
