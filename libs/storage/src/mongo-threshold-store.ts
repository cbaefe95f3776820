import { MongoClient, type Collection, type MongoClientOptions } from 'mongodb';
import { CacheError } from '@llm-cache/core';
import type { ThresholdRecord, ThresholdStore } from './ports.ts';

type ThresholdDocument = ThresholdRecord & { _id: string };

const idOf = (tenant: string, namespace: string): string => `${tenant}\u0000${namespace}`;

const storageError = (action: string, error: unknown): CacheError =>
  new CacheError('LLMCACHE_STORAGE', `threshold store: cannot ${action}: ${(error as Error).message}`, { cause: error });

/** ThresholdStore on a MongoDB collection (distributed mode). */
export class MongoThresholdStore implements ThresholdStore {
  private constructor(
    private readonly client: MongoClient,
    private readonly thresholds: Collection<ThresholdDocument>,
  ) {}

  static async create(options: { url: string; database: string; clientOptions?: MongoClientOptions }): Promise<MongoThresholdStore> {
    const client = new MongoClient(options.url, { serverSelectionTimeoutMS: 10_000, ...options.clientOptions });
    try {
      await client.connect();
      return new MongoThresholdStore(client, client.db(options.database).collection<ThresholdDocument>('thresholds'));
    } catch (error) {
      await client.close().catch(() => undefined);
      throw storageError('connect', error);
    }
  }

  async list(): Promise<ThresholdRecord[]> {
    const documents = await this.thresholds
      .find({})
      .toArray()
      .catch((error: unknown) => {
        throw storageError('read thresholds', error);
      });
    return documents.map(({ tenant, namespace, threshold, updatedAt }) => ({ tenant, namespace, threshold, updatedAt }));
  }

  async put(record: ThresholdRecord): Promise<void> {
    await this.thresholds.replaceOne({ _id: idOf(record.tenant, record.namespace) }, record, { upsert: true }).catch((error: unknown) => {
      throw storageError('store a threshold', error);
    });
  }

  async delete(tenant: string, namespace: string): Promise<boolean> {
    const result = await this.thresholds.deleteOne({ _id: idOf(tenant, namespace) }).catch((error: unknown) => {
      throw storageError('delete a threshold', error);
    });
    return result.deletedCount > 0;
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
