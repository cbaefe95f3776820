import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configLeaves, loadConfig, unknownEnvKeys } from '@llm-cache/config';

test('defaults alone are a valid configuration', () => {
  const config = loadConfig({ env: {} });
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.port, 8080);
  assert.equal(config.mode, 'embedded');
  assert.ok(config.threshold > 0 && config.threshold < 1);
});

test('file < environment < overrides, nested keys included', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  const file = join(dir, 'c.yaml');
  writeFileSync(file, 'port: 9000\nthreshold: 0.7\nupstream:\n  baseUrl: http://127.0.0.1:1/v1\n');
  const config = loadConfig({ file, env: { LLMCACHE_THRESHOLD: '0.9', LLMCACHE_EXACT_TIER_ENABLED: 'false' }, overrides: { port: 9100 } });
  assert.equal(config.port, 9100);
  assert.equal(config.threshold, 0.9);
  assert.equal(config.exactTier.enabled, false);
  assert.equal(config.upstream.baseUrl, 'http://127.0.0.1:1/v1');
  const json = join(dir, 'c.json');
  writeFileSync(json, JSON.stringify({ eviction: { policy: 'lfu' } }));
  assert.equal(loadConfig({ file: json, env: {} }).eviction.policy, 'lfu');
});

test('a bad value stops loading with a message naming the key', () => {
  assert.throws(() => loadConfig({ env: { LLMCACHE_THRESHOLD: '1.5' } }), /threshold \(from LLMCACHE_THRESHOLD\)/);
  assert.throws(() => loadConfig({ env: { LLMCACHE_PORT: 'eighty' } }), /port \(from LLMCACHE_PORT\)/);
  assert.throws(() => loadConfig({ env: { LLMCACHE_EVICTION_POLICY: 'random' } }), /eviction\.policy/);
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'treshold: 0.5\n');
  assert.throws(
    () => loadConfig({ file, env: {} }),
    (error: Error) => /LLMCACHE_CONFIG|invalid configuration/.test(String(error)) && /treshold/.test(error.message),
  );
  assert.throws(() => loadConfig({ file: join(dir, 'missing.yaml'), env: {} }), /cannot read config file/);
});

test('kafka.minInsyncReplicas is unset by default, read from its variable, and never above replicationFactor', () => {
  assert.equal(loadConfig({ env: {} }).kafka.minInsyncReplicas, undefined);
  const env = { LLMCACHE_KAFKA_REPLICATION_FACTOR: '3', LLMCACHE_KAFKA_MIN_INSYNC_REPLICAS: '2' };
  assert.equal(loadConfig({ env }).kafka.minInsyncReplicas, 2);
  assert.throws(
    () => loadConfig({ env: { LLMCACHE_KAFKA_MIN_INSYNC_REPLICAS: '2' } }),
    /kafka\.minInsyncReplicas.*cannot exceed replicationFactor/,
  );
});

test('every key has an LLMCACHE_ variable and unknown ones are reported', () => {
  const names = configLeaves().map((leaf) => leaf.env);
  assert.ok(names.includes('LLMCACHE_UPSTREAM_BASE_URL'));
  assert.ok(names.includes('LLMCACHE_DATA_DIR'));
  assert.deepEqual(unknownEnvKeys({ LLMCACHE_TRESHOLD: '1', LLMCACHE_PORT: '1', LLMCACHE_CONFIG: 'x' }), ['LLMCACHE_TRESHOLD']);
});

test('the documented example file is valid and shows the defaults', () => {
  const example = new URL('../../../llm-cache.example.yaml', import.meta.url).pathname;
  assert.deepEqual(loadConfig({ file: example, env: {} }), loadConfig({ env: {} }));
});

test('the example file documents every key', () => {
  const text = readFileSync(new URL('../../../llm-cache.example.yaml', import.meta.url), 'utf8');
  for (const leaf of configLeaves()) {
    const key = leaf.path[leaf.path.length - 1] as string;
    assert.match(text, new RegExp(`^\\s*#?\\s*${key}:`, 'm'), `llm-cache.example.yaml lacks ${leaf.path.join('.')}`);
  }
});
