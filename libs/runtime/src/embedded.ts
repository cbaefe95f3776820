import { resolve } from 'node:path';
import type { Embedder, RunningService } from '@llm-cache/core';
import type { Config } from '@llm-cache/config';
import { MemoryBus } from '@llm-cache/bus';
import { CacheStores, FsObjectStore, openSqlite, SqliteEntryStore, SqliteVectorStore } from '@llm-cache/storage';
import { createLogger, Metrics, type Logger } from '@llm-cache/telemetry';
import { startGateway, type RunningGateway } from '@llm-cache/gateway';
import { startEmbedder } from '@llm-cache/embedder';
import { startMatcher } from '@llm-cache/matcher';
import { startWriter } from '@llm-cache/writer';
import { startEvictor } from '@llm-cache/evictor';
import { createEmbedder } from './embedder-factory.ts';

export interface RunningCache {
  readonly url: string;
  readonly gateway: RunningGateway;
  readonly embedder: Embedder;
  readonly stores: CacheStores;
  close(): Promise<void>;
}

/**
 * Embedded mode: every service in this process over the in-process bus, with SQLite, the in-memory
 * vector index, a local object folder and the local embedding model.
 */
export async function startEmbedded(config: Config, options: { logger?: Logger; embedder?: Embedder } = {}): Promise<RunningCache> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const metrics = new Metrics();
  const dataDir = resolve(config.dataDir);
  const started = Date.now();
  const embedder = options.embedder ?? (await createEmbedder(config, logger));
  const db = openSqlite(resolve(dataDir, 'llm-cache.db'));
  const stores = new CacheStores(new SqliteEntryStore(db), new SqliteVectorStore(db), new FsObjectStore(resolve(dataDir, 'objects')));
  const bus = new MemoryBus({ logger, metrics });
  const services: RunningService[] = [];
  try {
    services.push(await startWriter({ bus, stores, logger, metrics, objectThresholdBytes: config.objectThresholdBytes }));
    services.push(await startMatcher({ bus, stores, logger, metrics, defaultThreshold: () => config.threshold }));
    services.push(await startEmbedder({ bus, embedder, logger, metrics, concurrency: 256 }));
    services.push(await startEvictor({ bus, stores, logger, metrics, limits: config.eviction }));
    const gateway = await startGateway({
      bus,
      stores,
      logger,
      metrics,
      embedder: async () => embedder,
      readiness: {
        storage: async () => {
          await stores.entries.totals();
        },
        embedder: async () => {
          if (embedder.dimensions <= 0) throw new Error('embedder not loaded');
        },
      },
      host: config.host,
      port: config.port,
      threshold: config.threshold,
      defaults: { tenant: config.defaultTenant, namespace: config.defaultNamespace, model: config.defaultModel },
      upstream: config.upstream,
      exactTier: config.exactTier,
      defaultTtlSeconds: config.ttlSeconds,
      lookupTimeoutMs: config.lookupTimeoutMs,
      writeTimeoutMs: config.writeTimeoutMs,
      maxBodyBytes: config.maxBodyBytes,
    });
    services.push(gateway);
    const entries = await stores.vectors.count();
    logger.info(
      { url: gateway.url, entries, dataDir, embeddingModel: embedder.fingerprint, startMs: Date.now() - started },
      'LLM-Cache ready (embedded)',
    );
    return {
      url: gateway.url,
      gateway,
      embedder,
      stores,
      close: async () => {
        for (const service of services.reverse()) await service.close();
        await bus.close();
        await stores.close();
        db.close();
        if (!options.embedder) await embedder.close();
        logger.flush();
      },
    };
  } catch (error) {
    for (const service of services.reverse()) await service.close().catch(() => undefined);
    await bus.close();
    db.close();
    throw error;
  }
}
