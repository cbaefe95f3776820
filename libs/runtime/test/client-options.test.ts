import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '@llm-cache/config';
import { kafkaSecurity, milvusSecurity, mongoSecurity, s3Security } from '../src/client-options.ts';

const dir = mkdtempSync(join(tmpdir(), 'llm-cache-tls-'));
const pem = (name: string): string => {
  const file = join(dir, name);
  writeFileSync(file, `-----BEGIN ${name}-----\n`);
  return file;
};
const ca = pem('ca.pem');
const cert = pem('cert.pem');
const key = pem('key.pem');
const tls = { caFile: ca, certFile: cert, keyFile: key, passphrase: 'pp', rejectUnauthorized: false };

test('without TLS settings every client gets its defaults', () => {
  const config = loadConfig({ env: {} });
  assert.deepEqual(kafkaSecurity(config.kafka), {});
  assert.deepEqual(mongoSecurity(config.mongo), {});
  assert.deepEqual(milvusSecurity(config.milvus), {});
  assert.deepEqual(s3Security(config.s3), {});
});

test('TLS and SASL settings reach kafkajs and the registry client', () => {
  const config = loadConfig({
    env: {},
    overrides: {
      kafka: {
        registryUrl: 'https://registry.internal:8081',
        tls,
        sasl: { mechanism: 'scram-sha-512', username: 'svc', password: 'pw' },
        registryUsername: 'reg',
        registryPassword: 'reg-pw',
      },
    },
  });
  const out = kafkaSecurity(config.kafka);
  const ssl = out.ssl as { ca: Buffer; cert: Buffer; key: Buffer; passphrase: string; rejectUnauthorized: boolean };
  assert.match(ssl.ca.toString(), /BEGIN ca\.pem/);
  assert.match(ssl.cert.toString(), /BEGIN cert\.pem/);
  assert.match(ssl.key.toString(), /BEGIN key\.pem/);
  assert.equal(ssl.passphrase, 'pp');
  assert.equal(ssl.rejectUnauthorized, false);
  assert.deepEqual(out.sasl, { mechanism: 'scram-sha-512', username: 'svc', password: 'pw' });
  assert.deepEqual(out.registryAuth, { username: 'reg', password: 'reg-pw' });
  assert.ok(out.registryAgent instanceof HttpsAgent, 'an https registry shares the TLS settings');
  assert.deepEqual(kafkaSecurity(loadConfig({ env: {}, overrides: { kafka: { tls: { enabled: true } } } }).kafka).ssl, {
    rejectUnauthorized: true,
  });
});

test('TLS and credentials reach the MongoDB driver, the Milvus SDK and the S3 client', () => {
  const config = loadConfig({
    env: {},
    overrides: {
      mongo: { username: 'app', password: 'mpw', tls },
      milvus: { tls: { caFile: ca }, serverName: 'milvus.internal' },
      s3: { caFile: ca },
    },
  });
  const mongo = mongoSecurity(config.mongo).clientOptions;
  assert.deepEqual(mongo?.auth, { username: 'app', password: 'mpw' });
  assert.equal(mongo?.tls, true);
  assert.equal(mongo?.tlsAllowInvalidCertificates, true);
  assert.match(String(mongo?.ca), /BEGIN ca\.pem/);
  const milvus = milvusSecurity(config.milvus);
  assert.equal(milvus.ssl, true);
  assert.match(String(milvus.tls?.rootCert), /BEGIN ca\.pem/);
  assert.equal(milvus.tls?.serverName, 'milvus.internal');
  assert.equal(milvus.tls?.skipCertCheck, false);
  assert.ok(s3Security(config.s3).httpsAgent instanceof HttpsAgent);
});

test('a missing certificate file fails at start, naming the key', () => {
  const config = loadConfig({ env: {}, overrides: { kafka: { tls: { caFile: join(dir, 'nope.pem') } } } });
  assert.throws(() => kafkaSecurity(config.kafka), /kafka\.tls\.caFile: cannot read .*nope\.pem/);
  assert.throws(() => loadConfig({ env: {}, overrides: { mongo: { tls: { certFile: cert } } } }), /certFile and keyFile go together/);
});
