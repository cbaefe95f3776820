import type { EntryObservation, FalseHitTotals, HitRecord, OutcomeCounts, OutcomeRecord, OutcomeStore } from './ports.ts';
import { outcomeIncrements } from './outcome-increments.ts';

interface NamespaceCounts {
  tenant: string;
  namespace: string;
  cells: Map<string, { level: number; bin: number; correct: number; wrong: number }>;
  explored: number;
  exploredRisk: number;
  exploredWrong: number;
  hitsCorrect: number;
  hitsWrong: number;
}

const emptyCounts = (): OutcomeCounts => ({ cells: [], explored: 0, exploredRisk: 0, exploredWrong: 0, hitsCorrect: 0, hitsWrong: 0 });

/** OutcomeStore in memory: the default where no durable one is configured, and the reference for the others. */
export class MemoryOutcomeStore implements OutcomeStore {
  private readonly seen = new Map<string, number>();
  private readonly entries = new Map<string, EntryObservation[]>();
  private readonly namespaces = new Map<string, NamespaceCounts>();
  private readonly hits = new Map<string, HitRecord>();

  async record(outcome: OutcomeRecord, keep: number): Promise<boolean> {
    if (this.seen.has(outcome.id)) return false;
    this.seen.set(outcome.id, outcome.at);
    const observations = [...(this.entries.get(outcome.entryId) ?? []), { score: outcome.score, correct: outcome.correct, at: outcome.at }];
    this.entries.set(outcome.entryId, observations.slice(-keep));
    const key = `${outcome.tenant}\u0000${outcome.namespace}`;
    let counts = this.namespaces.get(key);
    if (!counts) {
      counts = {
        tenant: outcome.tenant,
        namespace: outcome.namespace,
        cells: new Map(),
        explored: 0,
        exploredRisk: 0,
        exploredWrong: 0,
        hitsCorrect: 0,
        hitsWrong: 0,
      };
      this.namespaces.set(key, counts);
    }
    const cellKey = `${outcome.level}:${outcome.bin}`;
    const cell = counts.cells.get(cellKey) ?? { level: outcome.level, bin: outcome.bin, correct: 0, wrong: 0 };
    const add = outcomeIncrements(outcome);
    cell.correct += add.correct;
    cell.wrong += add.wrong;
    counts.cells.set(cellKey, cell);
    counts.explored += add.explored;
    counts.exploredRisk += add.exploredRisk;
    counts.exploredWrong += add.exploredWrong;
    counts.hitsCorrect += add.hitsCorrect;
    counts.hitsWrong += add.hitsWrong;
    return true;
  }

  async observations(entryId: string): Promise<EntryObservation[]> {
    return (this.entries.get(entryId) ?? []).map((o) => ({ ...o }));
  }

  async counts(tenant: string, namespace: string): Promise<OutcomeCounts> {
    const counts = this.namespaces.get(`${tenant}\u0000${namespace}`);
    if (!counts) return emptyCounts();
    return {
      cells: [...counts.cells.values()].map((cell) => ({ ...cell })).sort((x, y) => x.level - y.level || x.bin - y.bin),
      explored: counts.explored,
      exploredRisk: counts.exploredRisk,
      exploredWrong: counts.exploredWrong,
      hitsCorrect: counts.hitsCorrect,
      hitsWrong: counts.hitsWrong,
    };
  }

  async falseHitTotals(): Promise<FalseHitTotals[]> {
    return [...this.namespaces.values()]
      .filter((c) => c.hitsCorrect + c.hitsWrong > 0)
      .map((c) => ({ tenant: c.tenant, namespace: c.namespace, correct: c.hitsCorrect, wrong: c.hitsWrong }));
  }

  async putHit(hit: HitRecord): Promise<void> {
    this.hits.set(hit.requestId, { ...hit });
  }

  async getHit(requestId: string): Promise<HitRecord | null> {
    const hit = this.hits.get(requestId);
    return hit ? { ...hit } : null;
  }

  async forget(entryIds: readonly string[]): Promise<void> {
    for (const id of entryIds) this.entries.delete(id);
  }

  async prune(before: number): Promise<void> {
    for (const [id, at] of this.seen) if (at < before) this.seen.delete(id);
    for (const [id, hit] of this.hits) if (hit.at < before) this.hits.delete(id);
  }

  async close(): Promise<void> {}
}
