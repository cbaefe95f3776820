import { MongoClient, type Collection, type MongoClientOptions } from 'mongodb';
import { CacheError, type ApiTokenRecord } from '@llm-cache/core';
import { ensureIndexes } from './mongo-indexes.ts';
import type { TokenStore } from './ports.ts';

type TokenDocument = Omit<ApiTokenRecord, 'id'> & { _id: string };

const toRecord = ({ _id, ...rest }: TokenDocument): ApiTokenRecord => ({ id: _id, ...rest });

const storageError = (action: string, error: unknown): CacheError =>
  new CacheError('LLMCACHE_STORAGE', `token store: cannot ${action}: ${(error as Error).message}`, { cause: error });

/** TokenStore on a MongoDB collection (distributed mode). */
export class MongoTokenStore implements TokenStore {
  private constructor(
    private readonly client: MongoClient,
    private readonly tokens: Collection<TokenDocument>,
  ) {}

  static async create(options: { url: string; database: string; clientOptions?: MongoClientOptions }): Promise<MongoTokenStore> {
    const client = new MongoClient(options.url, { serverSelectionTimeoutMS: 10_000, ...options.clientOptions });
    try {
      await client.connect();
      const tokens = client.db(options.database).collection<TokenDocument>('tokens');
      await ensureIndexes(tokens, [{ key: { hash: 1 }, name: 'hash_unique', unique: true }]);
      return new MongoTokenStore(client, tokens);
    } catch (error) {
      await client.close().catch(() => undefined);
      throw storageError('connect', error);
    }
  }

  async put(token: ApiTokenRecord): Promise<void> {
    const { id, ...rest } = token;
    await this.tokens.replaceOne({ _id: id }, rest, { upsert: true }).catch((error: unknown) => {
      throw storageError('store a token', error);
    });
  }

  async findByHash(hash: string): Promise<ApiTokenRecord | null> {
    const document = await this.tokens.findOne({ hash }).catch((error: unknown) => {
      throw storageError('read a token', error);
    });
    return document ? toRecord(document) : null;
  }

  async list(tenant?: string): Promise<ApiTokenRecord[]> {
    const documents = await this.tokens
      .find(tenant === undefined ? {} : { tenant })
      .sort({ createdAt: 1 })
      .toArray();
    return documents.map(toRecord);
  }

  async delete(id: string, tenant?: string): Promise<boolean> {
    const result = await this.tokens.deleteOne(tenant === undefined ? { _id: id } : { _id: id, tenant });
    return result.deletedCount > 0;
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
