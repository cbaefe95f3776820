import type { EntryObservation, FalseHitTotals, HitRecord, OutcomeCounts, OutcomeRecord, OutcomeStore } from './ports.ts';
import { outcomeIncrements } from './outcome-increments.ts';
import type { SqliteDatabase } from './sqlite.ts';

/** OutcomeStore on SQLite tables beside the entries: the embedded mode's durable outcomes. */
export class SqliteOutcomeStore implements OutcomeStore {
  private readonly statements;
  private readonly recordTransaction: (outcome: OutcomeRecord, keep: number) => boolean;

  constructor(private readonly db: SqliteDatabase) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS outcome_ids (id TEXT PRIMARY KEY, at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS outcome_ids_at ON outcome_ids (at);
      CREATE TABLE IF NOT EXISTS entry_observations (entry_id TEXT PRIMARY KEY, items TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS outcome_counts (
        tenant TEXT NOT NULL, namespace TEXT NOT NULL, level INTEGER NOT NULL, bin INTEGER NOT NULL,
        correct INTEGER NOT NULL DEFAULT 0, wrong INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant, namespace, level, bin)
      );
      CREATE TABLE IF NOT EXISTS outcome_namespaces (
        tenant TEXT NOT NULL, namespace TEXT NOT NULL,
        explored INTEGER NOT NULL DEFAULT 0, explored_risk REAL NOT NULL DEFAULT 0, explored_wrong INTEGER NOT NULL DEFAULT 0,
        hits_correct INTEGER NOT NULL DEFAULT 0, hits_wrong INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant, namespace)
      );
      CREATE TABLE IF NOT EXISTS hit_records (
        request_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, namespace TEXT NOT NULL, scope_key TEXT NOT NULL,
        entry_id TEXT NOT NULL, score REAL NOT NULL, at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS hit_records_at ON hit_records (at);
    `);
    this.statements = {
      claim: db.prepare<[string, number]>('INSERT OR IGNORE INTO outcome_ids (id, at) VALUES (?, ?)'),
      observations: db.prepare<[string], { items: string }>('SELECT items FROM entry_observations WHERE entry_id = ?'),
      putObservations: db.prepare<[string, string]>(
        'INSERT INTO entry_observations (entry_id, items) VALUES (?, ?) ON CONFLICT (entry_id) DO UPDATE SET items = excluded.items',
      ),
      count: db.prepare<[string, string, number, number, number, number]>(
        `INSERT INTO outcome_counts (tenant, namespace, level, bin, correct, wrong) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (tenant, namespace, level, bin) DO UPDATE SET correct = correct + excluded.correct, wrong = wrong + excluded.wrong`,
      ),
      namespace: db.prepare<[string, string, number, number, number, number, number]>(
        `INSERT INTO outcome_namespaces (tenant, namespace, explored, explored_risk, explored_wrong, hits_correct, hits_wrong)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (tenant, namespace) DO UPDATE SET explored = explored + excluded.explored,
           explored_risk = explored_risk + excluded.explored_risk, explored_wrong = explored_wrong + excluded.explored_wrong,
           hits_correct = hits_correct + excluded.hits_correct, hits_wrong = hits_wrong + excluded.hits_wrong`,
      ),
      cells: db.prepare<[string, string], { level: number; bin: number; correct: number; wrong: number }>(
        'SELECT level, bin, correct, wrong FROM outcome_counts WHERE tenant = ? AND namespace = ? ORDER BY level, bin',
      ),
      namespaceRow: db.prepare<
        [string, string],
        { explored: number; explored_risk: number; explored_wrong: number; hits_correct: number; hits_wrong: number }
      >(
        'SELECT explored, explored_risk, explored_wrong, hits_correct, hits_wrong FROM outcome_namespaces WHERE tenant = ? AND namespace = ?',
      ),
      totals: db.prepare<[], { tenant: string; namespace: string; hits_correct: number; hits_wrong: number }>(
        'SELECT tenant, namespace, hits_correct, hits_wrong FROM outcome_namespaces WHERE hits_correct + hits_wrong > 0 ORDER BY tenant, namespace',
      ),
      putHit: db.prepare<[string, string, string, string, string, number, number]>(
        `INSERT INTO hit_records (request_id, tenant, namespace, scope_key, entry_id, score, at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (request_id) DO UPDATE SET tenant = excluded.tenant, namespace = excluded.namespace,
           scope_key = excluded.scope_key, entry_id = excluded.entry_id, score = excluded.score, at = excluded.at`,
      ),
      getHit: db.prepare<
        [string],
        { request_id: string; tenant: string; namespace: string; scope_key: string; entry_id: string; score: number; at: number }
      >('SELECT request_id, tenant, namespace, scope_key, entry_id, score, at FROM hit_records WHERE request_id = ?'),
      forget: db.prepare<[string]>('DELETE FROM entry_observations WHERE entry_id = ?'),
      pruneIds: db.prepare<[number]>('DELETE FROM outcome_ids WHERE at < ?'),
      pruneHits: db.prepare<[number]>('DELETE FROM hit_records WHERE at < ?'),
    };
    this.recordTransaction = db.transaction((outcome: OutcomeRecord, keep: number): boolean => {
      if (this.statements.claim.run(outcome.id, outcome.at).changes === 0) return false;
      const row = this.statements.observations.get(outcome.entryId);
      const items = row ? (JSON.parse(row.items) as EntryObservation[]) : [];
      items.push({ score: outcome.score, correct: outcome.correct, at: outcome.at });
      this.statements.putObservations.run(outcome.entryId, JSON.stringify(items.slice(-keep)));
      const add = outcomeIncrements(outcome);
      this.statements.count.run(outcome.tenant, outcome.namespace, outcome.level, outcome.bin, add.correct, add.wrong);
      this.statements.namespace.run(
        outcome.tenant,
        outcome.namespace,
        add.explored,
        add.exploredRisk,
        add.exploredWrong,
        add.hitsCorrect,
        add.hitsWrong,
      );
      return true;
    });
  }

  async record(outcome: OutcomeRecord, keep: number): Promise<boolean> {
    return this.recordTransaction(outcome, keep);
  }

  async observations(entryId: string): Promise<EntryObservation[]> {
    const row = this.statements.observations.get(entryId);
    return row ? (JSON.parse(row.items) as EntryObservation[]) : [];
  }

  async counts(tenant: string, namespace: string): Promise<OutcomeCounts> {
    const row = this.statements.namespaceRow.get(tenant, namespace);
    return {
      cells: this.statements.cells.all(tenant, namespace),
      explored: row?.explored ?? 0,
      exploredRisk: row?.explored_risk ?? 0,
      exploredWrong: row?.explored_wrong ?? 0,
      hitsCorrect: row?.hits_correct ?? 0,
      hitsWrong: row?.hits_wrong ?? 0,
    };
  }

  async falseHitTotals(): Promise<FalseHitTotals[]> {
    return this.statements.totals
      .all()
      .map((row) => ({ tenant: row.tenant, namespace: row.namespace, correct: row.hits_correct, wrong: row.hits_wrong }));
  }

  async putHit(hit: HitRecord): Promise<void> {
    this.statements.putHit.run(hit.requestId, hit.tenant, hit.namespace, hit.scopeKey, hit.entryId, hit.score, hit.at);
  }

  async getHit(requestId: string): Promise<HitRecord | null> {
    const row = this.statements.getHit.get(requestId);
    return row
      ? {
          requestId: row.request_id,
          tenant: row.tenant,
          namespace: row.namespace,
          scopeKey: row.scope_key,
          entryId: row.entry_id,
          score: row.score,
          at: row.at,
        }
      : null;
  }

  async forget(entryIds: readonly string[]): Promise<void> {
    this.db.transaction(() => {
      for (const id of entryIds) this.statements.forget.run(id);
    })();
  }

  async prune(before: number): Promise<void> {
    this.statements.pruneIds.run(before);
    this.statements.pruneHits.run(before);
  }

  async close(): Promise<void> {}
}
