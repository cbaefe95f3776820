import type { ApiTokenRecord } from '@llm-cache/core';
import type { TokenStore } from './ports.ts';
import type { SqliteDatabase } from './sqlite.ts';

interface Row {
  id: string;
  name: string;
  role: ApiTokenRecord['role'];
  tenant: string;
  hash: string;
  created_at: number;
}

const toRecord = (row: Row): ApiTokenRecord => ({
  id: row.id,
  name: row.name,
  role: row.role,
  tenant: row.tenant,
  hash: row.hash,
  createdAt: row.created_at,
});

/** TokenStore on a SQLite table (embedded mode). */
export class SqliteTokenStore implements TokenStore {
  constructor(private readonly db: SqliteDatabase) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        tenant TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
      );
    `);
  }

  async put(token: ApiTokenRecord): Promise<void> {
    this.db
      .prepare('INSERT OR REPLACE INTO tokens (id, name, role, tenant, hash, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(token.id, token.name, token.role, token.tenant, token.hash, token.createdAt);
  }

  async findByHash(hash: string): Promise<ApiTokenRecord | null> {
    const row = this.db.prepare('SELECT * FROM tokens WHERE hash = ?').get(hash) as Row | undefined;
    return row ? toRecord(row) : null;
  }

  async list(tenant?: string): Promise<ApiTokenRecord[]> {
    const rows = (
      tenant === undefined
        ? this.db.prepare('SELECT * FROM tokens ORDER BY created_at').all()
        : this.db.prepare('SELECT * FROM tokens WHERE tenant = ? ORDER BY created_at').all(tenant)
    ) as Row[];
    return rows.map(toRecord);
  }

  async delete(id: string, tenant?: string): Promise<boolean> {
    const result =
      tenant === undefined
        ? this.db.prepare('DELETE FROM tokens WHERE id = ?').run(id)
        : this.db.prepare('DELETE FROM tokens WHERE id = ? AND tenant = ?').run(id, tenant);
    return result.changes > 0;
  }

  async close(): Promise<void> {}
}
