import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import { CacheError } from '@llm-cache/core';
import type { Config } from '@llm-cache/config';
import type { KafkaBusOptions } from '@llm-cache/bus';
import type { ListenerTls } from '@llm-cache/gateway';
import type { MongoEntryStoreOptions, MilvusVectorStoreOptions, S3ObjectStoreOptions } from '@llm-cache/storage/distributed';

/**
 * Turns the TLS and authentication settings of the configuration into what the gateway listener and each client
 * library takes (kafkajs, the schema registry client, the MongoDB driver, the Milvus SDK, the AWS
 * SDK). Certificate files are read here, once, so a wrong path fails at start with the key named.
 */
type ClientTls = Config['kafka']['tls'];

function readPem(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new CacheError('LLMCACHE_CONFIG', `${key}: cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
}

/** The gateway's HTTPS settings with their files read, or undefined when it listens with plain HTTP. */
export function listenerTls(tls: Config['tls']): ListenerTls | undefined {
  if (tls.certFile === undefined || tls.keyFile === undefined) return undefined;
  return {
    cert: readPem(tls.certFile, `the TLS certificate (tls.certFile)`),
    key: readPem(tls.keyFile, `the TLS key (tls.keyFile)`),
    passphrase: tls.passphrase,
    minVersion: tls.minVersion,
  };
}

const wantsTls = (tls: ClientTls): boolean => tls.enabled || tls.caFile !== undefined || tls.certFile !== undefined;

/** Node TLS options from a client TLS block, or undefined when TLS is off. `key` names the block in errors. */
export function tlsConnectionOptions(tls: ClientTls, key: string): ConnectionOptions | undefined {
  if (!wantsTls(tls)) return undefined;
  return {
    rejectUnauthorized: tls.rejectUnauthorized,
    ...(tls.caFile === undefined ? {} : { ca: readPem(tls.caFile, `${key}.caFile`) }),
    ...(tls.certFile === undefined ? {} : { cert: readPem(tls.certFile, `${key}.certFile`) }),
    ...(tls.keyFile === undefined ? {} : { key: readPem(tls.keyFile, `${key}.keyFile`) }),
    ...(tls.passphrase === undefined ? {} : { passphrase: tls.passphrase }),
  };
}

export function kafkaSecurity(kafka: Config['kafka']): Pick<KafkaBusOptions, 'ssl' | 'sasl' | 'registryAuth' | 'registryAgent'> {
  const tls = tlsConnectionOptions(kafka.tls, 'kafka.tls');
  const out: Pick<KafkaBusOptions, 'ssl' | 'sasl' | 'registryAuth' | 'registryAgent'> = {};
  if (tls) out.ssl = tls;
  if (kafka.sasl) {
    const { mechanism, username, password } = kafka.sasl;
    out.sasl = { mechanism, username, password } as KafkaBusOptions['sasl'];
  }
  if (kafka.registryUsername !== undefined || kafka.registryPassword !== undefined) {
    out.registryAuth = { username: kafka.registryUsername ?? '', password: kafka.registryPassword ?? '' };
  }
  // The registry shares the brokers' CA and client certificate when it is reached over https.
  if (tls && kafka.registryUrl.startsWith('https:')) out.registryAgent = new HttpsAgent({ ...tls, keepAlive: true });
  return out;
}

export function mongoSecurity(mongo: Config['mongo']): Pick<MongoEntryStoreOptions, 'clientOptions'> {
  const tls = tlsConnectionOptions(mongo.tls, 'mongo.tls');
  const clientOptions: NonNullable<MongoEntryStoreOptions['clientOptions']> = {};
  if (mongo.username !== undefined) {
    clientOptions.auth = { username: mongo.username, ...(mongo.password === undefined ? {} : { password: mongo.password }) };
  }
  if (tls) {
    clientOptions.tls = true;
    clientOptions.tlsAllowInvalidCertificates = !mongo.tls.rejectUnauthorized;
    if (tls.ca) clientOptions.ca = tls.ca as Buffer;
    if (tls.cert) clientOptions.cert = tls.cert as Buffer;
    if (tls.key) clientOptions.key = tls.key as Buffer;
    if (tls.passphrase !== undefined) clientOptions.passphrase = tls.passphrase;
  }
  return Object.keys(clientOptions).length === 0 ? {} : { clientOptions };
}

export function milvusSecurity(milvus: Config['milvus']): Pick<MilvusVectorStoreOptions, 'ssl' | 'tls'> {
  if (!wantsTls(milvus.tls)) return {};
  const pem = (file: string | undefined, key: string): Buffer | undefined => (file === undefined ? undefined : readPem(file, key));
  const rootCert = pem(milvus.tls.caFile, 'milvus.tls.caFile');
  const certChain = pem(milvus.tls.certFile, 'milvus.tls.certFile');
  const privateKey = pem(milvus.tls.keyFile, 'milvus.tls.keyFile');
  return {
    ssl: true,
    tls: {
      ...(rootCert ? { rootCert } : {}),
      ...(certChain ? { certChain } : {}),
      ...(privateKey ? { privateKey } : {}),
      ...(milvus.serverName === undefined ? {} : { serverName: milvus.serverName }),
      skipCertCheck: !milvus.tls.rejectUnauthorized,
    },
  };
}

export function s3Security(s3: Config['s3']): Pick<S3ObjectStoreOptions, 'httpsAgent'> {
  if (s3.caFile === undefined) return {};
  return { httpsAgent: new HttpsAgent({ ca: readPem(s3.caFile, 's3.caFile'), keepAlive: true }) };
}
