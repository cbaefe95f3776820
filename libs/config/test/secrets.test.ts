import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decryptSecret, encryptSecret, generateSecretKey, loadConfig, parseSecretKey, secretsOf, SECRET_PREFIX } from '../src/index.ts';

const key = parseSecretKey(generateSecretKey(), 'test');

test('an encrypted value round-trips, differs each time, and detects tampering', () => {
  const a = encryptSecret('sk-live-123', key);
  const b = encryptSecret('sk-live-123', key);
  assert.ok(a.startsWith(SECRET_PREFIX));
  assert.notEqual(a, b, 'a fresh IV per encryption');
  assert.equal(decryptSecret(a, key, 'upstream.apiKey'), 'sk-live-123');
  const tampered = a.slice(0, -2) + (a.endsWith('A') ? 'BB' : 'AA');
  assert.throws(() => decryptSecret(tampered, key, 'upstream.apiKey'), /upstream\.apiKey: cannot decrypt/);
  assert.throws(() => decryptSecret(a, parseSecretKey(generateSecretKey(), 'other'), 'x'), /cannot decrypt/);
});

test('keys are 32 bytes, as base64 or hex, inline or from a file', () => {
  assert.equal(parseSecretKey('00'.repeat(32), 'k').length, 32);
  assert.throws(() => parseSecretKey('c2hvcnQ=', 'LLMCACHE_SECRET_KEY'), /LLMCACHE_SECRET_KEY must hold a 32-byte key/);
  const dir = mkdtempSync(join(tmpdir(), 'llm-cache-secrets-'));
  const file = join(dir, 'key');
  const text = generateSecretKey();
  writeFileSync(file, `${text}\n`);
  const value = encryptSecret('from-a-file', parseSecretKey(text, 'k'));
  const config = loadConfig({ env: { LLMCACHE_SECRET_KEY_FILE: file, LLMCACHE_UPSTREAM_API_KEY: value } });
  assert.equal(config.upstream.apiKey, 'from-a-file');
});

test('loadConfig decrypts values from the file and the environment, and names the key when it cannot', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llm-cache-secrets-'));
  const file = join(dir, 'c.json');
  const text = generateSecretKey();
  const k = parseSecretKey(text, 'k');
  writeFileSync(
    file,
    JSON.stringify({
      auth: { adminToken: encryptSecret('a-very-long-admin-token', k) },
      s3: { secretAccessKey: encryptSecret('s3-secret', k) },
    }),
  );
  const config = loadConfig({ file, env: { LLMCACHE_SECRET_KEY: text, LLMCACHE_MONGO_PASSWORD: encryptSecret('mongo-pw', k) } });
  assert.equal(config.auth.adminToken, 'a-very-long-admin-token');
  assert.equal(config.s3.secretAccessKey, 's3-secret');
  assert.equal(config.mongo.password, 'mongo-pw');
  assert.throws(() => loadConfig({ file, env: {} }), /auth\.adminToken is encrypted: set LLMCACHE_SECRET_KEY or LLMCACHE_SECRET_KEY_FILE/);
  // The decrypted value is validated like any other: too short an admin token is refused without printing it.
  writeFileSync(file, JSON.stringify({ auth: { adminToken: encryptSecret('short-tok', k) } }));
  assert.throws(
    () => loadConfig({ file, env: { LLMCACHE_SECRET_KEY: text } }),
    (error: Error) => /auth\.adminToken/.test(error.message) && !error.message.includes('short-tok'),
  );
});

test('secretsOf lists secret keys and passwords inside URLs', () => {
  const config = loadConfig({
    env: {},
    overrides: {
      upstream: { apiKey: 'sk-up' },
      mongo: { url: 'mongodb://app:p%40ss@db:27017' },
      kafka: { sasl: { mechanism: 'plain', username: 'u', password: 'kafka-pw' } },
    },
  });
  const secrets = secretsOf(config);
  for (const expected of ['sk-up', 'p%40ss', 'p@ss', 'kafka-pw']) assert.ok(secrets.includes(expected), expected);
  assert.ok(!secrets.includes('u'), 'user names are not secrets');
});
