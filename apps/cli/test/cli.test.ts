import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'apps/cli/src/main.ts', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });

test('a bad configuration value stops start-up with a message naming the key', () => {
  const result = cli(['start'], { LLMCACHE_THRESHOLD: '2' });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /LLMCACHE_CONFIG: invalid configuration: threshold \(from LLMCACHE_THRESHOLD\)/);
});

test('an unknown command is refused with help', () => {
  const result = cli(['frobnicate']);
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /unknown command/);
});

test('openapi prints the document', () => {
  const result = cli(['openapi']);
  assert.equal(result.status, 0);
  assert.match(result.stdout, /^openapi: 3\.0\.3/);
  assert.match(result.stdout, /\/v1\/chat\/completions:/);
});
