import { isRetryable } from '@llm-cache/core';
import { secretsOf, type Config } from '@llm-cache/config';
import { KafkaBus } from '@llm-cache/bus';
import { CacheStores, type TokenStore } from '@llm-cache/storage';
import {
  MilvusVectorStore,
  MongoEntryStore,
  MongoOutcomeStore,
  MongoThresholdStore,
  MongoTokenStore,
  S3ObjectStore,
} from '@llm-cache/storage/distributed';
import { createLogger, Metrics, type Logger } from '@llm-cache/telemetry';
import type { RunningGateway } from '@llm-cache/gateway';
import { createEmbedder, createTextWindow } from './embedder-factory.ts';
import { metricsAccess, startMetricsServer } from './metrics-server.ts';
import { kafkaSecurity, milvusSecurity, mongoSecurity, s3Security } from './client-options.ts';
import { lazy, startServices, stopServices, type ServiceName } from './services.ts';

export interface RunningDistributed {
  readonly names: readonly ServiceName[];
  readonly gateway: RunningGateway | undefined;
  readonly bus: KafkaBus;
  close(): Promise<void>;
}

/** Runs a connect step again (up to 8 times, with jittered backoff) when it fails with a retryable error. */
async function withRetries<T>(what: string, connect: () => Promise<T>, logger: Logger): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect();
    } catch (error) {
      if (attempt >= 8 || !isRetryable(error)) throw error;
      logger.warn({ err: error, attempt }, `${what}: connect failed, retrying`);
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt + Math.random() * 500));
    }
  }
}

/** Connects the distributed adapters named by the configuration: Kafka, Milvus, MongoDB and S3. */
export async function connectDistributed(
  config: Config,
  logger: Logger,
  metrics?: Metrics,
): Promise<{ bus: KafkaBus; stores: CacheStores; tokens: TokenStore }> {
  const bus = await KafkaBus.connect({
    brokers: config.kafka.brokers.split(',').map((broker) => broker.trim()),
    clientId: config.kafka.clientId,
    registryUrl: config.kafka.registryUrl,
    partitions: config.kafka.partitions,
    replicationFactor: config.kafka.replicationFactor,
    ...(config.kafka.minInsyncReplicas === undefined ? {} : { minInsyncReplicas: config.kafka.minInsyncReplicas }),
    topicPrefix: config.kafka.topicPrefix,
    ...kafkaSecurity(config.kafka),
    logger,
    ...(metrics ? { metrics } : {}),
  });
  try {
    // Services start together and race to create collections and indexes: retry what a race broke.
    // The MongoDB collections are created one after the other: FerretDB drops connections that
    // create collections in one database at the same moment.
    const mongo = async () => {
      const options = { url: config.mongo.url, database: config.mongo.database, ...mongoSecurity(config.mongo) };
      const entries = await withRetries('MongoDB entries', () => MongoEntryStore.create(options), logger);
      const tokens = await withRetries('MongoDB tokens', () => MongoTokenStore.create(options), logger);
      const outcomes = await withRetries('MongoDB outcomes', () => MongoOutcomeStore.create(options), logger);
      const thresholds = await withRetries('MongoDB thresholds', () => MongoThresholdStore.create(options), logger);
      return { entries, tokens, outcomes, thresholds };
    };
    const { address, collection, dimensions, username, password } = config.milvus;
    const milvusOptions = { address, collection, dimensions, username, password, ...milvusSecurity(config.milvus) };
    const [vectors, { entries, tokens, outcomes, thresholds }, objects] = await Promise.all([
      withRetries('Milvus', () => MilvusVectorStore.create(milvusOptions), logger),
      mongo(),
      withRetries('S3', () => S3ObjectStore.create({ ...config.s3, ...s3Security(config.s3) }), logger),
    ]);
    return { bus, stores: new CacheStores(entries, vectors, objects, outcomes, thresholds), tokens };
  } catch (error) {
    await bus.close();
    throw error;
  }
}

/**
 * Distributed mode: the named services in this process, over Kafka with Milvus, MongoDB and S3.
 * Run one service per process and as many processes of each as the load needs.
 */
export async function startDistributed(
  config: Config,
  names: readonly ServiceName[],
  options: { logger?: Logger } = {},
): Promise<RunningDistributed> {
  const logger = options.logger ?? createLogger({ level: config.logLevel, secrets: secretsOf(config) });
  const metrics = new Metrics();
  const started = Date.now();
  const { bus, stores, tokens } = await connectDistributed(config, logger, metrics);
  const embedder = lazy(() => createEmbedder(config, logger));
  const shutdown = async (): Promise<void> => {
    await bus.close();
    await stores.close();
    await tokens.close();
    await embedder.created()?.close();
  };
  try {
    const { services, gateway } = await startServices(names, {
      config,
      bus,
      stores,
      tokens,
      embedder,
      window: async () => embedder.created()?.window ?? createTextWindow(config, logger),
      logger,
      metrics,
      readiness: {
        entries: async () => void (await stores.entries.totals()),
        vectors: async () => void (await stores.vectors.count()),
      },
    });
    const access = config.auth.required
      ? metricsAccess({ adminToken: config.auth.adminToken, defaultTenant: config.defaultTenant, tokens })
      : undefined;
    const metricsServer =
      gateway === undefined && config.metricsPort > 0
        ? await startMetricsServer(metrics, config.host, config.metricsPort, access)
        : undefined;
    logger.info(
      { services: names, url: gateway?.url, metrics: metricsServer?.url, startMs: Date.now() - started },
      'LLM-Cache services ready (distributed)',
    );
    return {
      names,
      gateway,
      bus,
      close: async () => {
        await metricsServer?.close();
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
export { kafkaSecurity, milvusSecurity, mongoSecurity, s3Security, tlsConnectionOptions } from './client-options.ts';
