import type { VectorMatch, VectorQuery, VectorRecord } from '@llm-cache/core';
import type { VectorStore } from './ports.ts';
import type { SqliteDatabase } from './sqlite.ts';
import { VectorIndex, type VectorIndexOptions } from './vector-index.ts';

interface VectorRow {
  id: string;
  scope_key: string;
  embedding_model: string;
  vector: Buffer;
  created_at: number;
  expires_at: number | null;
}

const toBlob = (vector: Float32Array): Buffer => Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);

/** Copies the blob into an aligned Float32Array (SQLite buffers need not be 4-byte aligned). */
const fromBlob = (blob: Buffer): Float32Array => {
  const vector = new Float32Array(blob.byteLength / 4);
  new Uint8Array(vector.buffer).set(blob);
  return vector;
};

const toRecord = (row: VectorRow): VectorRecord => ({
  id: row.id,
  scopeKey: row.scope_key,
  embeddingModel: row.embedding_model,
  vector: fromBlob(row.vector),
  createdAt: row.created_at,
  expiresAt: row.expires_at,
});

/**
 * VectorStore of the embedded mode: a SQLite table is the durable copy and an in-memory index,
 * rebuilt from it at start, serves searches (an exact scan per scope, an HNSW graph for large ones).
 */
export class SqliteVectorStore implements VectorStore {
  private readonly index: VectorIndex;
  private readonly statements;

  constructor(
    private readonly db: SqliteDatabase,
    indexOptions: Partial<VectorIndexOptions> = {},
  ) {
    this.index = new VectorIndex(indexOptions);
    db.exec(`
      CREATE TABLE IF NOT EXISTS vectors (
        id TEXT PRIMARY KEY,
        scope_key TEXT NOT NULL,
        embedding_model TEXT NOT NULL,
        vector BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER
      );
    `);
    this.statements = {
      upsert: db.prepare(`
        INSERT INTO vectors (id, scope_key, embedding_model, vector, created_at, expires_at)
        VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET scope_key = excluded.scope_key, embedding_model = excluded.embedding_model,
          vector = excluded.vector, created_at = excluded.created_at, expires_at = excluded.expires_at`),
      delete: db.prepare('DELETE FROM vectors WHERE id = ?'),
      all: db.prepare<[], VectorRow>('SELECT * FROM vectors'),
      get: db.prepare<[string], VectorRow>('SELECT * FROM vectors WHERE id = ?'),
    };
    for (const row of this.statements.all.iterate()) this.index.upsert(toRecord(row));
  }

  async upsert(records: readonly VectorRecord[]): Promise<void> {
    this.db.transaction(() => {
      for (const r of records) this.statements.upsert.run(r.id, r.scopeKey, r.embeddingModel, toBlob(r.vector), r.createdAt, r.expiresAt);
    })();
    for (const record of records) this.index.upsert(record);
  }

  async search(query: VectorQuery): Promise<VectorMatch[]> {
    return this.index.search(query);
  }

  async delete(ids: readonly string[]): Promise<void> {
    this.db.transaction(() => {
      for (const id of ids) this.statements.delete.run(id);
    })();
    for (const id of ids) this.index.remove(id);
  }

  async getVectors(ids: readonly string[]): Promise<Map<string, VectorRecord>> {
    const found = new Map<string, VectorRecord>();
    for (const id of ids) {
      const row = this.statements.get.get(id);
      if (row) found.set(id, toRecord(row));
    }
    return found;
  }

  async count(): Promise<number> {
    return this.index.size;
  }

  /** Resolves once the HNSW graphs of large scopes have caught up (the exact scan answers until then). */
  indexed(): Promise<void> {
    return this.index.settled();
  }

  async close(): Promise<void> {
    this.index.close();
  }
}
