import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

/** Endpoints of the local real stack (infra/stack), overridable by the usual LLMCACHE_* variables. */
export const STACK = {
  kafkaBrokers: process.env.LLMCACHE_KAFKA_BROKERS ?? '127.0.0.1:9092',
  registryUrl: process.env.LLMCACHE_KAFKA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7',
  milvusAddress: process.env.LLMCACHE_MILVUS_ADDRESS ?? '127.0.0.1:19530',
  mongoUrl: process.env.LLMCACHE_MONGO_URL ?? 'mongodb://127.0.0.1:27017',
  s3Endpoint: process.env.LLMCACHE_S3_ENDPOINT ?? 'http://127.0.0.1:9000',
  s3AccessKeyId: process.env.LLMCACHE_S3_ACCESS_KEY_ID ?? 'llmcache',
  s3SecretAccessKey: process.env.LLMCACHE_S3_SECRET_ACCESS_KEY ?? 'llmcache-secret',
  prometheusUrl: process.env.LLMCACHE_TEST_PROMETHEUS_URL ?? 'http://127.0.0.1:9090',
};

/** A fresh lower-case name for topics, groups, collections, databases and buckets. */
export const uniqueName = (prefix: string): string => `${prefix}${randomBytes(4).toString('hex')}`;

/** Fails loudly (never skips) when a server of the stack does not answer. */
export async function requireServer(name: string, hostPort: string): Promise<void> {
  const [host = '127.0.0.1', port = '0'] =
    hostPort
      .replace(/^\w+:\/\//, '')
      .split('/')[0]
      ?.split(':') ?? [];
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host, port: Number(port) }, () => {
      socket.end();
      resolve();
    });
    socket.setTimeout(3000, () => socket.destroy(new Error('timeout')));
    socket.on('error', (error) =>
      reject(new Error(`${name} is not reachable at ${hostPort} (${error.message}): start the stack with npm run stack:up`)),
    );
  });
}
