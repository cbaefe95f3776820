import { MongoClient, MongoServerError, type Collection, type MongoClientOptions } from 'mongodb';
import { CacheError } from '@llm-cache/core';
import { ensureIndexes } from './mongo-indexes.ts';
import type { EntryObservation, FalseHitTotals, HitRecord, OutcomeCounts, OutcomeRecord, OutcomeStore } from './ports.ts';
import { outcomeIncrements } from './outcome-increments.ts';

interface OutcomeIdDocument {
  _id: string;
  at: number;
}

interface ObservationsDocument {
  _id: string;
  items: EntryObservation[];
}

/** One namespace's counts; `cells` is keyed `<level>_<bin>`. */
interface CountsDocument {
  _id: string;
  tenant: string;
  namespace: string;
  cells?: Record<string, { correct?: number; wrong?: number }>;
  explored?: number;
  exploredRisk?: number;
  exploredWrong?: number;
  hitsCorrect?: number;
  hitsWrong?: number;
}

type HitDocument = Omit<HitRecord, 'requestId'> & { _id: string };

const DUPLICATE_KEY = 11000;

const storageError = (action: string, error: unknown): CacheError =>
  new CacheError('LLMCACHE_STORAGE', `outcome store: cannot ${action}: ${(error as Error).message}`, { cause: error });

const namespaceKey = (tenant: string, namespace: string): string => JSON.stringify([tenant, namespace]);

/**
 * OutcomeStore on MongoDB collections (distributed mode): remembered outcome ids (a unique _id makes
 * recording idempotent), per-entry observations, per-namespace counts updated with $inc, and hit
 * records. Works on FerretDB: no transactions, so a crash between the steps of one record can lose
 * part of one outcome, never count one twice.
 */
export class MongoOutcomeStore implements OutcomeStore {
  private constructor(
    private readonly client: MongoClient,
    private readonly ids: Collection<OutcomeIdDocument>,
    private readonly entryObservations: Collection<ObservationsDocument>,
    private readonly namespaceCounts: Collection<CountsDocument>,
    private readonly hits: Collection<HitDocument>,
  ) {}

  static async create(options: { url: string; database: string; clientOptions?: MongoClientOptions }): Promise<MongoOutcomeStore> {
    const client = new MongoClient(options.url, { serverSelectionTimeoutMS: 10_000, ...options.clientOptions });
    try {
      await client.connect();
      const db = client.db(options.database);
      const ids = db.collection<OutcomeIdDocument>('outcomeIds');
      const hits = db.collection<HitDocument>('hitRecords');
      await ensureIndexes(ids, [{ key: { at: 1 }, name: 'at' }]);
      await ensureIndexes(hits, [{ key: { at: 1 }, name: 'at' }]);
      return new MongoOutcomeStore(client, ids, db.collection('entryObservations'), db.collection('outcomeCounts'), hits);
    } catch (error) {
      await client.close().catch(() => undefined);
      throw storageError('connect', error);
    }
  }

  private async run<T>(action: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw storageError(action, error);
    }
  }

  async record(outcome: OutcomeRecord, keep: number): Promise<boolean> {
    try {
      await this.ids.insertOne({ _id: outcome.id, at: outcome.at });
    } catch (error) {
      if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) return false;
      throw storageError('record an outcome', error);
    }
    const observation: EntryObservation = { score: outcome.score, correct: outcome.correct, at: outcome.at };
    const add = outcomeIncrements(outcome);
    const cell = `cells.${outcome.level}_${outcome.bin}`;
    await this.run('record an outcome', async () => {
      // FerretDB ignores $slice in $push: append, then trim what grew past `keep`.
      await this.entryObservations.updateOne({ _id: outcome.entryId }, { $push: { items: observation } }, { upsert: true });
      const kept = await this.entryObservations.findOne({ _id: outcome.entryId });
      if (kept && kept.items.length > keep) {
        await this.entryObservations.updateOne({ _id: outcome.entryId }, { $set: { items: kept.items.slice(-keep) } });
      }
      await this.namespaceCounts.updateOne(
        { _id: namespaceKey(outcome.tenant, outcome.namespace) },
        {
          $setOnInsert: { tenant: outcome.tenant, namespace: outcome.namespace },
          $inc: {
            [`${cell}.correct`]: add.correct,
            [`${cell}.wrong`]: add.wrong,
            explored: add.explored,
            exploredRisk: add.exploredRisk,
            exploredWrong: add.exploredWrong,
            hitsCorrect: add.hitsCorrect,
            hitsWrong: add.hitsWrong,
          },
        },
        { upsert: true },
      );
    });
    return true;
  }

  async observations(entryId: string): Promise<EntryObservation[]> {
    const document = await this.run('read observations', () => this.entryObservations.findOne({ _id: entryId }));
    return (document?.items ?? []).map(({ score, correct, at }) => ({ score, correct, at }));
  }

  async counts(tenant: string, namespace: string): Promise<OutcomeCounts> {
    const document = await this.run('read counts', () => this.namespaceCounts.findOne({ _id: namespaceKey(tenant, namespace) }));
    const cells = Object.entries(document?.cells ?? {}).map(([key, value]) => {
      const [level, bin] = key.split('_').map(Number);
      return { level: level ?? 0, bin: bin ?? 0, correct: value.correct ?? 0, wrong: value.wrong ?? 0 };
    });
    cells.sort((x, y) => x.level - y.level || x.bin - y.bin);
    return {
      cells,
      explored: document?.explored ?? 0,
      exploredRisk: document?.exploredRisk ?? 0,
      exploredWrong: document?.exploredWrong ?? 0,
      hitsCorrect: document?.hitsCorrect ?? 0,
      hitsWrong: document?.hitsWrong ?? 0,
    };
  }

  async falseHitTotals(): Promise<FalseHitTotals[]> {
    const documents = await this.run('read counts', () => this.namespaceCounts.find({}).toArray());
    return documents
      .map((d) => ({ tenant: d.tenant, namespace: d.namespace, correct: d.hitsCorrect ?? 0, wrong: d.hitsWrong ?? 0 }))
      .filter((t) => t.correct + t.wrong > 0)
      .sort((x, y) => (x.tenant === y.tenant ? (x.namespace < y.namespace ? -1 : 1) : x.tenant < y.tenant ? -1 : 1));
  }

  async putHit(hit: HitRecord): Promise<void> {
    const { requestId, ...rest } = hit;
    await this.run('store a hit record', () => this.hits.replaceOne({ _id: requestId }, rest, { upsert: true }));
  }

  async getHit(requestId: string): Promise<HitRecord | null> {
    const document = await this.run('read a hit record', () => this.hits.findOne({ _id: requestId }));
    if (!document) return null;
    const { _id, tenant, namespace, scopeKey, entryId, score, at } = document;
    return { requestId: _id, tenant, namespace, scopeKey, entryId, score, at };
  }

  async forget(entryIds: readonly string[]): Promise<void> {
    if (entryIds.length === 0) return;
    await this.run('forget observations', () => this.entryObservations.deleteMany({ _id: { $in: [...entryIds] } }));
  }

  async prune(before: number): Promise<void> {
    await this.run('prune', async () => {
      await this.ids.deleteMany({ at: { $lt: before } });
      await this.hits.deleteMany({ at: { $lt: before } });
    });
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
