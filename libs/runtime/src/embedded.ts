import { resolve } from 'node:path';
import type { Embedder } from '@llm-cache/core';
import { secretsOf, type Config } from '@llm-cache/config';
import { MemoryBus } from '@llm-cache/bus';
import { lockDataDir, openSqlite, sqliteCacheStores, SqliteTokenStore, type CacheStores } from '@llm-cache/storage';
import { createLogger, Metrics, type Logger } from '@llm-cache/telemetry';
import type { RunningGateway } from '@llm-cache/gateway';
import { createEmbedder } from './embedder-factory.ts';
import { SERVICE_NAMES, startServices, stopServices } from './services.ts';

export interface RunningCache {
  readonly url: string;
  readonly gateway: RunningGateway;
  readonly embedder: Embedder;
  readonly stores: CacheStores;
  close(): Promise<void>;
}

/**
 * Embedded mode: every service in this process over the in-process bus, with SQLite, the in-memory
 * vector index, a local object folder and the local embedding model. The data folder is locked for
 * this process first: a second server on it is refused (see lockDataDir) rather than left to diverge.
 */
export async function startEmbedded(config: Config, options: { logger?: Logger; embedder?: Embedder } = {}): Promise<RunningCache> {
  const logger = options.logger ?? createLogger({ level: config.logLevel, secrets: secretsOf(config) });
  const metrics = new Metrics();
  const dataDir = resolve(config.dataDir);
  const started = Date.now();
  const lock = lockDataDir(dataDir);
  let embedder: Embedder;
  let db: ReturnType<typeof openSqlite>;
  let stores: CacheStores;
  try {
    embedder = options.embedder ?? (await createEmbedder(config, logger));
    try {
      db = openSqlite(resolve(dataDir, 'llm-cache.db'));
      stores = sqliteCacheStores(db, resolve(dataDir, 'objects'), config.vectorIndex);
    } catch (error) {
      if (!options.embedder) await embedder.close();
      throw error;
    }
  } catch (error) {
    lock.release();
    throw error;
  }
  const bus = new MemoryBus({ logger, metrics });
  const shutdown = async (): Promise<void> => {
    try {
      await bus.close();
      await stores.close();
      db.close();
      if (!options.embedder) await embedder.close();
    } finally {
      lock.release();
    }
  };
  try {
    const { services, gateway } = await startServices(SERVICE_NAMES, {
      config,
      bus,
      stores,
      tokens: new SqliteTokenStore(db),
      embedder: async () => embedder,
      window: async () => embedder.window,
      logger,
      metrics,
      readiness: {
        storage: async () => void (await stores.entries.totals()),
      },
    });
    if (!gateway) throw new Error('the gateway did not start');
    logger.info(
      {
        url: gateway.url,
        entries: await stores.vectors.count(),
        dataDir,
        embeddingModel: embedder.fingerprint,
        startMs: Date.now() - started,
      },
      'LLM-Cache ready (embedded)',
    );
    return {
      url: gateway.url,
      gateway,
      embedder,
      stores,
      close: async () => {
        await stopServices(services);
        await shutdown();
        logger.flush();
      },
    };
  } catch (error) {
    await shutdown();
    throw error;
  }
}
