import type { CacheEntry } from '@llm-cache/core';
import type { EntryFilter, EntryStore, EvictionOrder, NamespaceStats, StoreTotals } from './ports.ts';
import type { SqliteDatabase } from './sqlite.ts';

interface Row {
  id: string;
  scope_key: string;
  tenant: string;
  namespace: string;
  model: string;
  params_hash: string;
  context_hash: string;
  prompt: string;
  response: string | null;
  response_ref: string | null;
  response_bytes: number;
  tags: string;
  created_at: number;
  expires_at: number | null;
  hit_count: number;
  last_hit_at: number | null;
  embedding_model: string;
}

const toEntry = (row: Row): CacheEntry => ({
  id: row.id,
  scopeKey: row.scope_key,
  tenant: row.tenant,
  namespace: row.namespace,
  model: row.model,
  paramsHash: row.params_hash,
  contextHash: row.context_hash,
  prompt: row.prompt,
  response: row.response,
  responseRef: row.response_ref,
  responseBytes: row.response_bytes,
  tags: JSON.parse(row.tags) as string[],
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  hitCount: row.hit_count,
  lastHitAt: row.last_hit_at,
  embeddingModel: row.embedding_model,
});

const ORDER_SQL: Record<EvictionOrder, string> = {
  lru: 'COALESCE(last_hit_at, created_at) ASC, created_at ASC',
  lfu: 'hit_count ASC, COALESCE(last_hit_at, created_at) ASC',
  fifo: 'created_at ASC',
};

/** EntryStore on a SQLite table: the embedded mode's durable scalars. */
export class SqliteEntryStore implements EntryStore {
  private readonly statements;

  constructor(private readonly db: SqliteDatabase) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS entries (
        id TEXT PRIMARY KEY,
        scope_key TEXT NOT NULL,
        tenant TEXT NOT NULL,
        namespace TEXT NOT NULL,
        model TEXT NOT NULL,
        params_hash TEXT NOT NULL,
        context_hash TEXT NOT NULL,
        prompt TEXT NOT NULL,
        response TEXT,
        response_ref TEXT,
        response_bytes INTEGER NOT NULL,
        tags TEXT NOT NULL DEFAULT '[]',
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        hit_count INTEGER NOT NULL DEFAULT 0,
        last_hit_at INTEGER,
        embedding_model TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS entries_tenant_ns ON entries (tenant, namespace);
      CREATE INDEX IF NOT EXISTS entries_expires ON entries (expires_at) WHERE expires_at IS NOT NULL;
    `);
    this.statements = {
      exists: db.prepare<[string], { id: string }>('SELECT id FROM entries WHERE id = ?'),
      upsert: db.prepare(`
        INSERT INTO entries (id, scope_key, tenant, namespace, model, params_hash, context_hash, prompt, response,
          response_ref, response_bytes, tags, created_at, expires_at, hit_count, last_hit_at, embedding_model)
        VALUES (@id, @scopeKey, @tenant, @namespace, @model, @paramsHash, @contextHash, @prompt, @response,
          @responseRef, @responseBytes, @tags, @createdAt, @expiresAt, @hitCount, @lastHitAt, @embeddingModel)
        ON CONFLICT (id) DO UPDATE SET prompt = excluded.prompt, response = excluded.response,
          response_ref = excluded.response_ref, response_bytes = excluded.response_bytes, tags = excluded.tags,
          created_at = excluded.created_at, expires_at = excluded.expires_at, embedding_model = excluded.embedding_model`),
      get: db.prepare<[string], Row>('SELECT * FROM entries WHERE id = ?'),
      delete: db.prepare<[string], Row>('DELETE FROM entries WHERE id = ? RETURNING *'),
      hit: db.prepare('UPDATE entries SET hit_count = hit_count + ?, last_hit_at = MAX(COALESCE(last_hit_at, 0), ?) WHERE id = ?'),
      expired: db.prepare<[number, number], { id: string }>(
        'SELECT id FROM entries WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?',
      ),
    };
  }

  async upsert(entry: CacheEntry): Promise<{ created: boolean }> {
    return this.db.transaction(() => {
      const created = this.statements.exists.get(entry.id) === undefined;
      this.statements.upsert.run({ ...entry, tags: JSON.stringify(entry.tags) });
      return { created };
    })();
  }

  async get(id: string): Promise<CacheEntry | null> {
    const row = this.statements.get.get(id);
    return row ? toEntry(row) : null;
  }

  async delete(ids: readonly string[]): Promise<CacheEntry[]> {
    return this.db.transaction(() => {
      const removed: CacheEntry[] = [];
      for (const id of ids) {
        const row = this.statements.delete.get(id);
        if (row) removed.push(toEntry(row));
      }
      return removed;
    })();
  }

  async findIds(filter: EntryFilter): Promise<string[]> {
    const where = ['tenant = ?'];
    const args: unknown[] = [filter.tenant];
    if (filter.namespace !== undefined) {
      where.push('namespace = ?');
      args.push(filter.namespace);
    }
    if (filter.tags !== undefined) {
      where.push(`EXISTS (SELECT 1 FROM json_each(entries.tags) WHERE json_each.value IN (${filter.tags.map(() => '?').join(',')}))`);
      args.push(...filter.tags);
    }
    const rows = this.db.prepare(`SELECT id FROM entries WHERE ${where.join(' AND ')}`).all(...args) as Array<{ id: string }>;
    return rows.map((row) => row.id);
  }

  async scan(tenant: string, after: string | null, limit: number): Promise<CacheEntry[]> {
    const rows = this.db
      .prepare('SELECT * FROM entries WHERE tenant = ? AND id > ? ORDER BY id LIMIT ?')
      .all(tenant, after ?? '', limit) as Row[];
    return rows.map(toEntry);
  }

  async recordHits(hits: ReadonlyArray<{ id: string; at: number; count?: number }>): Promise<void> {
    this.db.transaction(() => {
      for (const hit of hits) this.statements.hit.run(hit.count ?? 1, hit.at, hit.id);
    })();
  }

  async expiredIds(now: number, limit: number): Promise<string[]> {
    return this.statements.expired.all(now, limit).map((row) => row.id);
  }

  async evictionCandidates(order: EvictionOrder, limit: number, scope?: { tenant: string; namespace: string }): Promise<CacheEntry[]> {
    const where = scope ? 'WHERE tenant = ? AND namespace = ?' : '';
    const args = scope ? [scope.tenant, scope.namespace] : [];
    const rows = this.db.prepare(`SELECT * FROM entries ${where} ORDER BY ${ORDER_SQL[order]} LIMIT ?`).all(...args, limit) as Row[];
    return rows.map(toEntry);
  }

  async totals(scope?: { tenant: string; namespace: string }): Promise<StoreTotals> {
    const where = scope ? 'WHERE tenant = ? AND namespace = ?' : '';
    const args = scope ? [scope.tenant, scope.namespace] : [];
    const row = this.db
      .prepare(`SELECT COUNT(*) AS entries, COALESCE(SUM(response_bytes + LENGTH(prompt)), 0) AS bytes FROM entries ${where}`)
      .get(...args) as StoreTotals;
    return { entries: row.entries, bytes: row.bytes };
  }

  async namespaceStats(tenant?: string): Promise<NamespaceStats[]> {
    const where = tenant === undefined ? '' : 'WHERE tenant = ?';
    const args = tenant === undefined ? [] : [tenant];
    return this.db
      .prepare(
        `SELECT tenant, namespace, COUNT(*) AS entries, COALESCE(SUM(response_bytes + LENGTH(prompt)), 0) AS bytes,
           COALESCE(SUM(hit_count), 0) AS hits FROM entries ${where} GROUP BY tenant, namespace ORDER BY tenant, namespace`,
      )
      .all(...args) as NamespaceStats[];
  }

  async close(): Promise<void> {}
}
