import type { ThresholdRecord, ThresholdStore } from './ports.ts';
import type { SqliteDatabase } from './sqlite.ts';

const keyOf = (tenant: string, namespace: string): string => `${tenant}\u0000${namespace}`;

/** ThresholdStore in memory: for stores built without a database (tests, the idle gateway). */
export class MemoryThresholdStore implements ThresholdStore {
  private readonly records = new Map<string, ThresholdRecord>();

  async list(): Promise<ThresholdRecord[]> {
    return [...this.records.values()];
  }

  async put(record: ThresholdRecord): Promise<void> {
    this.records.set(keyOf(record.tenant, record.namespace), { ...record });
  }

  async delete(tenant: string, namespace: string): Promise<boolean> {
    return this.records.delete(keyOf(tenant, namespace));
  }

  async close(): Promise<void> {}
}

interface Row {
  tenant: string;
  namespace: string;
  threshold: number;
  updated_at: number;
}

/** ThresholdStore on a SQLite table (embedded mode). */
export class SqliteThresholdStore implements ThresholdStore {
  constructor(private readonly db: SqliteDatabase) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS thresholds (
        tenant TEXT NOT NULL,
        namespace TEXT NOT NULL,
        threshold REAL NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (tenant, namespace)
      );
    `);
  }

  async list(): Promise<ThresholdRecord[]> {
    const rows = this.db.prepare('SELECT * FROM thresholds').all() as Row[];
    return rows.map((row) => ({ tenant: row.tenant, namespace: row.namespace, threshold: row.threshold, updatedAt: row.updated_at }));
  }

  async put(record: ThresholdRecord): Promise<void> {
    this.db
      .prepare('INSERT OR REPLACE INTO thresholds (tenant, namespace, threshold, updated_at) VALUES (?, ?, ?, ?)')
      .run(record.tenant, record.namespace, record.threshold, record.updatedAt);
  }

  async delete(tenant: string, namespace: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM thresholds WHERE tenant = ? AND namespace = ?').run(tenant, namespace).changes > 0;
  }

  async close(): Promise<void> {}
}
