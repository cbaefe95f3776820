import { DataType, MilvusClient, type ClientConfig, type ConsistencyLevelEnum, type ResStatus } from '@zilliz/milvus2-sdk-node';
import { CacheError, type VectorMatch, type VectorQuery, type VectorRecord } from '@llm-cache/core';
import type { VectorStore } from './ports.ts';

export interface MilvusVectorStoreOptions {
  /** host:port of the Milvus gRPC endpoint. */
  address: string;
  collection: string;
  dimensions: number;
  username?: string | undefined;
  password?: string | undefined;
  /** TLS to Milvus, passed to the SDK as is. */
  ssl?: boolean;
  tls?: ClientConfig['tls'];
}

/** Milvus' largest search limit (topk). */
const MAX_TOPK = 16384;
/** Rows per upsert / ids per query or delete request. */
const BATCH = 1000;
const OUTPUT_FIELDS = ['id', 'scope_key', 'embedding_model', 'created_at', 'expires_at', 'vector'];
/**
 * Consistency levels, passed by name: the SDK drops the enum's Strong (0) as falsy and falls back to
 * the collection's level. Strong makes the server wait until its query nodes have consumed every
 * write up to now (one or two time ticks, 200 ms each by default: 200 to 400 ms per call), so the
 * hot path searches Bounded (what the query nodes hold, no wait) and writers wait for visibility
 * once, in whenSearchable, before they acknowledge.
 */
const STRONG = 'Strong' as unknown as ConsistencyLevelEnum;
const BOUNDED = 'Bounded' as unknown as ConsistencyLevelEnum;
/** HNSW graph parameters: 16 links per node, 200 candidates while building (docs/distributed.md). */
export const MILVUS_INDEX = { index_type: 'HNSW', metric_type: 'COSINE', params: { M: 16, efConstruction: 200 } } as const;
/** Candidates an HNSW search visits: at least this many, and at least the number of results asked. */
export const MILVUS_SEARCH_EF = 64;
/** Writes in flight per collection, shared by every store of this process: writes run one after another. */
const writeQueues = new Map<string, Promise<void>>();

/** A string literal of Milvus' filter language (it knows only the escapes \\ \" \n \r \t). */
export const milvusString = (value: string): string =>
  `"${value.replace(/[\\"\n\r\t]/g, (c) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c] as string)}"`;

const isOk = (status: ResStatus | undefined): boolean =>
  status !== undefined && (status.error_code === 'Success' || status.error_code === 0) && !status.code;

const reasonOf = (error: unknown): string => {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'reason' in error) return String((error as ResStatus).reason);
  return String(error);
};

/**
 * VectorStore on a Milvus collection (HNSW, cosine). One collection holds every scope; searches
 * filter on scope key, embedding model and expiry. Statuses are always checked: the SDK reports many
 * failures (e.g. a collection released by a server restart) in `status` without throwing.
 */
export class MilvusVectorStore implements VectorStore {
  private readonly queueKey: string;
  /** The visibility probe waiting to start (joined by every caller until it starts), and the one running. */
  private probeQueued: Promise<void> | undefined;
  private probeRunning: Promise<void> = Promise.resolve();

  private constructor(
    private readonly client: MilvusClient,
    address: string,
    private readonly collection: string,
    private readonly dimensions: number,
  ) {
    this.queueKey = `${address}/${collection}`;
  }

  /** Connects, creates the collection and its index when missing (safe to race), and loads it. */
  static async create(options: MilvusVectorStoreOptions): Promise<MilvusVectorStore> {
    const { address, collection, dimensions } = options;
    const client = new MilvusClient({
      address,
      ...(options.username !== undefined ? { username: options.username } : {}),
      ...(options.password !== undefined ? { password: options.password } : {}),
      ...(options.ssl !== undefined ? { ssl: options.ssl } : {}),
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
      logLevel: 'error',
    });
    const store = new MilvusVectorStore(client, address, collection, dimensions);
    try {
      await client.connectPromise.catch((error: unknown) => {
        throw new CacheError('LLMCACHE_STORAGE', `Milvus not reachable at ${address}: ${reasonOf(error)}`, { cause: error });
      });
      await store.ensureCollection();
      return store;
    } catch (error) {
      await client.closeConnection().catch(() => undefined);
      throw error;
    }
  }

  private async ensureCollection(): Promise<void> {
    const { client, collection, dimensions } = this;
    const exists = await this.call('hasCollection', () => client.hasCollection({ collection_name: collection }));
    if (!exists.value) {
      await this.call('createCollection', async () => {
        const status = await client
          .createCollection({
            collection_name: collection,
            consistency_level: 'Strong',
            fields: [
              { name: 'id', data_type: DataType.VarChar, is_primary_key: true, max_length: 64 },
              { name: 'scope_key', data_type: DataType.VarChar, max_length: 64 },
              { name: 'embedding_model', data_type: DataType.VarChar, max_length: 128 },
              { name: 'created_at', data_type: DataType.Int64 },
              { name: 'expires_at', data_type: DataType.Int64 },
              { name: 'vector', data_type: DataType.FloatVector, dim: dimensions },
            ],
          })
          .catch((error: ResStatus) => error); // the SDK throws the status object
        if (isOk(status)) return status;
        // Another process may have created it in between (the server then reports "already exist" or
        // "File exists"): that is fine when the collection is there now, its schema is checked below.
        const now = await client.hasCollection({ collection_name: collection }).catch(() => undefined);
        return now?.value === true ? { ...status, error_code: 'Success', code: 0 } : status;
      });
    }
    const described = await this.call('describeCollection', () => client.describeCollection({ collection_name: collection }));
    const fields = new Map(described.schema.fields.map((field) => [field.name, field]));
    const missing = OUTPUT_FIELDS.filter((name) => !fields.has(name));
    const vectorField = fields.get('vector');
    const existingDims = Number(vectorField?.dim ?? vectorField?.type_params?.find((p) => p.key === 'dim')?.value);
    if (missing.length > 0 || existingDims !== dimensions) {
      const found = missing.length > 0 ? `no field ${missing.join(', ')}` : `${existingDims} dimensions`;
      throw new CacheError('LLMCACHE_CONFIG', `Milvus collection ${collection} has ${found}; configured: ${dimensions} dimensions`);
    }
    const index = await this.call('describeIndex', async () => {
      const result = await client.describeIndex({ collection_name: collection, field_name: 'vector' });
      return result.index_descriptions.length === 0 ? { ...result, status: { ...result.status, error_code: 'Success', code: 0 } } : result;
    });
    const metric = index.index_descriptions[0]?.params.find((p) => p.key === 'metric_type')?.value;
    if (metric === undefined) {
      await this.call('createIndex', async () => {
        const status = await client.createIndex({
          collection_name: collection,
          field_name: 'vector',
          ...MILVUS_INDEX,
        });
        return /already exist/i.test(status.reason) ? { ...status, error_code: 'Success', code: 0 } : status;
      });
    } else if (metric !== 'COSINE' && metric !== 'IP') {
      throw new CacheError('LLMCACHE_CONFIG', `Milvus collection ${collection} is indexed with metric ${metric}, not COSINE`);
    }
    await this.load();
  }

  /** Loads the collection (a released one, e.g. by an operator or a milvus-lite restart, answers reads with code 101). */
  private async load(): Promise<void> {
    await this.call('loadCollection', () => this.client.loadCollectionSync({ collection_name: this.collection }));
  }

  /**
   * Runs a Milvus call, turning a thrown error or a failed status into a retryable LLMCACHE_STORAGE.
   * A read that finds the collection released (code 101, after a server restart) loads it and runs once more.
   */
  private async call<T extends ResStatus | { status: ResStatus }>(operation: string, run: () => Promise<T>, reload = false): Promise<T> {
    let result: T;
    try {
      result = await run();
    } catch (error) {
      if (error instanceof CacheError) throw error;
      throw new CacheError('LLMCACHE_STORAGE', `Milvus ${operation} on ${this.collection} failed: ${reasonOf(error)}`, { cause: error });
    }
    const status: ResStatus = 'status' in result ? (result as { status: ResStatus }).status : (result as ResStatus);
    if (isOk(status)) return result;
    if (reload && (status.error_code === 101 || status.code === 101)) {
      await this.load();
      return this.call(operation, run);
    }
    throw new CacheError('LLMCACHE_STORAGE', `Milvus ${operation} on ${this.collection} failed (${status.error_code}): ${status.reason}`, {
      cause: status,
    });
  }

  /** Queues a write behind the other writes to this collection in this process. */
  private serialize(work: () => Promise<void>): Promise<void> {
    const run = (writeQueues.get(this.queueKey) ?? Promise.resolve()).then(work);
    const tail = run.catch(() => undefined);
    writeQueues.set(this.queueKey, tail);
    void tail.then(() => {
      if (writeQueues.get(this.queueKey) === tail) writeQueues.delete(this.queueKey);
    });
    return run;
  }

  async upsert(records: readonly VectorRecord[]): Promise<void> {
    const latest = new Map<string, VectorRecord>(); // last one wins, as with SQLite's upsert in a loop
    for (const record of records) {
      if (record.vector.length !== this.dimensions) {
        throw new CacheError(
          'LLMCACHE_CONFIG',
          `vector ${record.id} has ${record.vector.length} dimensions, Milvus collection ${this.collection}: ${this.dimensions}`,
        );
      }
      latest.set(record.id, record);
    }
    const rows = [...latest.values()].map((r) => ({
      id: r.id,
      scope_key: r.scopeKey,
      embedding_model: r.embeddingModel,
      created_at: Math.round(r.createdAt),
      expires_at: r.expiresAt === null ? 0 : Math.round(r.expiresAt),
      vector: Array.from(r.vector),
    }));
    if (rows.length === 0) return;
    await this.serialize(async () => {
      for (let i = 0; i < rows.length; i += BATCH) {
        const data = rows.slice(i, i + BATCH);
        await this.call('upsert', () => this.client.upsert({ collection_name: this.collection, data }));
      }
    });
  }

  async search(query: VectorQuery): Promise<VectorMatch[]> {
    if (query.k <= 0 || query.vector.length !== this.dimensions) return [];
    const conditions = [
      `scope_key == ${milvusString(query.scopeKey)}`,
      `embedding_model == ${milvusString(query.embeddingModel)}`,
      // expires_at is an integer, so "> now" is "> floor(now)" and ">= min" is ">= ceil(min)".
      `(expires_at == 0 or expires_at > ${Math.floor(query.now)})`,
    ];
    if (query.minCreatedAt !== undefined) conditions.push(`created_at >= ${Math.ceil(query.minCreatedAt)}`);
    const limit = Math.min(query.k, MAX_TOPK);
    const result = await this.call(
      'search',
      () =>
        this.client.search({
          collection_name: this.collection,
          data: Array.from(query.vector),
          anns_field: 'vector',
          filter: conditions.join(' and '),
          output_fields: ['id'],
          limit,
          params: { ef: Math.max(MILVUS_SEARCH_EF, limit) },
          consistency_level: BOUNDED,
        }),
      true,
    );
    return result.results.map((hit) => ({ id: String(hit.id), score: Math.min(1, Math.max(0, Number(hit.score))) }));
  }

  async delete(ids: readonly string[]): Promise<void> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return;
    await this.serialize(async () => {
      for (let i = 0; i < unique.length; i += BATCH) {
        const filter = `id in [${unique
          .slice(i, i + BATCH)
          .map(milvusString)
          .join(', ')}]`;
        await this.call('delete', () => this.client.delete({ collection_name: this.collection, filter }));
      }
    });
  }

  async getVectors(ids: readonly string[]): Promise<Map<string, VectorRecord>> {
    const unique = [...new Set(ids)];
    const byId = new Map<string, VectorRecord>();
    for (let i = 0; i < unique.length; i += BATCH) {
      const filter = `id in [${unique
        .slice(i, i + BATCH)
        .map(milvusString)
        .join(', ')}]`;
      const result = await this.call(
        'query',
        () => this.client.query({ collection_name: this.collection, filter, output_fields: OUTPUT_FIELDS, consistency_level: STRONG }),
        true,
      );
      for (const row of result.data) {
        const expiresAt = Number(row.expires_at);
        byId.set(String(row.id), {
          id: String(row.id),
          scopeKey: String(row.scope_key),
          embeddingModel: String(row.embedding_model),
          vector: Float32Array.from(row.vector as number[]),
          createdAt: Number(row.created_at),
          expiresAt: expiresAt === 0 ? null : expiresAt,
        });
      }
    }
    const found = new Map<string, VectorRecord>(); // in the order asked, like the SQLite store
    for (const id of unique) {
      const record = byId.get(id);
      if (record) found.set(id, record);
    }
    return found;
  }

  async count(): Promise<number> {
    const result = await this.call(
      'count',
      () => this.client.query({ collection_name: this.collection, filter: '', output_fields: ['count(*)'], consistency_level: STRONG }),
      true,
    );
    return Number(result.data[0]?.['count(*)'] ?? 0);
  }

  /**
   * Resolves once the writes finished before the call are searchable: one Strong query (the server
   * answers it only when its query nodes have consumed everything up to its timestamp). Callers
   * arriving while a probe runs share the next one, so a burst of writes costs one or two probes.
   */
  whenSearchable(): Promise<void> {
    this.probeQueued ??= this.probeRunning.then(async () => {
      this.probeQueued = undefined;
      const probe = this.call(
        'query',
        () =>
          this.client.query({
            collection_name: this.collection,
            filter: 'id == ""',
            output_fields: ['id'],
            limit: 1,
            consistency_level: STRONG,
          }),
        true,
      );
      this.probeRunning = probe.then(
        () => undefined,
        () => undefined,
      );
      await probe;
    });
    return this.probeQueued;
  }

  /** Waits for this process' queued writes to the collection, then disconnects. */
  async close(): Promise<void> {
    await writeQueues.get(this.queueKey);
    await this.client.closeConnection();
  }
}
