import {
  deleteS3Bucket,
  dropKafkaPrefix,
  dropMilvusCollection,
  dropMongoDatabase,
  requireServer,
  STACK,
  uniqueName,
} from '@llm-cache/testing';
import { KafkaBus } from '@llm-cache/bus';
import { createLogger } from '@llm-cache/telemetry';
import { startCacheProcess, type CacheProcess } from './cache-process.ts';

export interface ClusterLayout {
  gateways: number;
  matchers: number;
}

export interface DistributedCluster {
  /** Base URLs of the gateways, in order. */
  urls: string[];
  /** The running processes by name: gateway-1, matcher-2, writer-1... */
  processes: Map<string, CacheProcess>;
  env: Record<string, string>;
  start(name: string): Promise<CacheProcess>;
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** Stops every process; the data stays, for a restart on the same environment. */
  stop(): Promise<void>;
  /** Stops every process and removes the environment's data from the stack (see dropDistributedData). */
  destroy(): Promise<void>;
  output(): string;
}

/**
 * Environment for a fresh distributed cache on the local real stack: its own topic prefix, Milvus
 * collection, MongoDB database and S3 bucket, so runs never see each other's data.
 */
export function freshDistributedEnv(): Record<string, string> {
  const id = uniqueName('e2e');
  return {
    LLMCACHE_MODE: 'distributed',
    LLMCACHE_KAFKA_BROKERS: STACK.kafkaBrokers,
    LLMCACHE_KAFKA_REGISTRY_URL: STACK.registryUrl,
    LLMCACHE_KAFKA_TOPIC_PREFIX: `${id}.`,
    LLMCACHE_KAFKA_PARTITIONS: '4',
    LLMCACHE_MILVUS_ADDRESS: STACK.milvusAddress,
    LLMCACHE_MILVUS_COLLECTION: id,
    LLMCACHE_MONGO_URL: STACK.mongoUrl,
    LLMCACHE_MONGO_DATABASE: id,
    LLMCACHE_S3_ENDPOINT: STACK.s3Endpoint,
    LLMCACHE_S3_BUCKET: id,
    LLMCACHE_S3_ACCESS_KEY_ID: STACK.s3AccessKeyId,
    LLMCACHE_S3_SECRET_ACCESS_KEY: STACK.s3SecretAccessKey,
  };
}

/**
 * Removes what a freshDistributedEnv environment created on the stack: its topics and their subjects,
 * its Milvus collection, MongoDB database and S3 bucket. Call it after the processes stopped.
 */
export async function dropDistributedData(env: Record<string, string>): Promise<void> {
  const { LLMCACHE_KAFKA_TOPIC_PREFIX: prefix, LLMCACHE_MILVUS_COLLECTION: collection } = env;
  const { LLMCACHE_MONGO_DATABASE: database, LLMCACHE_S3_BUCKET: bucket } = env;
  if (prefix) await dropKafkaPrefix(prefix);
  if (collection) await dropMilvusCollection(collection);
  if (database) await dropMongoDatabase(database);
  if (bucket) await deleteS3Bucket(bucket);
}

/**
 * A bus on the topics of a freshDistributedEnv environment, for a test to publish and consume beside
 * the services; closed after the test. Connect it before starting the cluster, so that it closes
 * before the cluster's data is dropped.
 */
export async function clusterBus(t: { after: (fn: () => Promise<void>) => void }, env: Record<string, string>): Promise<KafkaBus> {
  const bus = await KafkaBus.connect({
    brokers: [env.LLMCACHE_KAFKA_BROKERS ?? STACK.kafkaBrokers],
    clientId: 'llm-cache-test',
    registryUrl: env.LLMCACHE_KAFKA_REGISTRY_URL ?? STACK.registryUrl,
    partitions: Number(env.LLMCACHE_KAFKA_PARTITIONS ?? 4),
    replicationFactor: 1,
    ...(env.LLMCACHE_KAFKA_TOPIC_PREFIX === undefined ? {} : { topicPrefix: env.LLMCACHE_KAFKA_TOPIC_PREFIX }),
    logger: createLogger({ level: 'silent' }),
  });
  t.after(() => bus.close());
  return bus;
}

/** Fails with the server's name when a server of the local stack is not up. */
export async function requireDistributedStack(): Promise<void> {
  await requireServer('Kafka', STACK.kafkaBrokers);
  await requireServer('the schema registry', STACK.registryUrl);
  await requireServer('Milvus', STACK.milvusAddress);
  await requireServer('MongoDB (FerretDB)', STACK.mongoUrl);
  await requireServer('S3 (S3Proxy)', STACK.s3Endpoint);
}

/** Starts every service as its own `llm-cache service <name>` process against the real stack (checked first). */
export async function startDistributedCluster(
  env: Record<string, string>,
  layout: ClusterLayout = { gateways: 1, matchers: 1 },
): Promise<DistributedCluster> {
  await requireDistributedStack();
  const processes = new Map<string, CacheProcess>();
  const ports = new Map<string, string>();
  const logs: string[] = [];
  const start = async (name: string): Promise<CacheProcess> => {
    const service = name.replace(/-\d+$/, '');
    const port = ports.get(name) ?? (name === 'gateway-1' ? env.LLMCACHE_PORT : undefined) ?? '0';
    const started = await startCacheProcess({ ...env, LLMCACHE_PORT: port }, 90_000, ['service', service]);
    if (service === 'gateway') ports.set(name, new URL(started.url).port);
    processes.set(name, started);
    return started;
  };
  const names = [
    'writer-1',
    'evictor-1',
    'embedder-1',
    ...Array.from({ length: layout.matchers }, (_, i) => `matcher-${i + 1}`),
    ...Array.from({ length: layout.gateways }, (_, i) => `gateway-${i + 1}`),
  ];
  const cluster: DistributedCluster = {
    urls: [],
    processes,
    env,
    start,
    kill: async (name, signal = 'SIGTERM') => {
      const running = processes.get(name);
      if (!running) return;
      logs.push(`--- ${name} ---\n${running.output()}`);
      await running.stop(signal);
      processes.delete(name);
    },
    stop: async () => {
      await Promise.all([...processes.keys()].map((name) => cluster.kill(name)));
    },
    destroy: async () => {
      await cluster.stop();
      await dropDistributedData(env);
    },
    output: () => [...logs, ...[...processes].map(([name, p]) => `--- ${name} ---\n${p.output()}`)].join('\n'),
  };
  try {
    // Consumers first (their groups exist before any gateway publishes), in parallel to save time.
    await Promise.all(names.filter((n) => !n.startsWith('gateway')).map(start));
    for (const name of names.filter((n) => n.startsWith('gateway'))) cluster.urls.push((await start(name)).url);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}
