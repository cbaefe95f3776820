/**
 * Fuzzing the running gateway with schemathesis against schemas/openapi.yaml: every operation gets
 * generated valid and invalid requests (examples, coverage, fuzzing and stateful phases), as the
 * bootstrap admin so the role-protected routes run their handlers. Bounded by a number of examples per
 * operation and a fixed seed, so a run is repeatable; LLMCACHE_FUZZ_EXAMPLES and LLMCACHE_FUZZ_SEED
 * change them. See docs/fuzzing.md.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT, startCacheProcess, tempDir } from '../helpers/cache-process.ts';
import { ensureVenv, venvDir } from '../helpers/python-venv.ts';
import { startUpstreamStandIn } from '../helpers/upstream-stand-in.ts';

const FUZZ_DIR = join(REPO_ROOT, 'test', 'fuzz');
/** Where schemathesis and hypothesis keep their caches (.schemathesis, .hypothesis): outside the repository. */
const WORK_DIR = join(homedir(), '.cache', 'llm-cache', 'fuzz');
const CHECKS = ['not_a_server_error', 'response_schema_conformance', 'status_code_conformance', 'content_type_conformance'];
const EXAMPLES = process.env.LLMCACHE_FUZZ_EXAMPLES ?? '300';
const SEED = process.env.LLMCACHE_FUZZ_SEED ?? '20240611';
/** Far above a normal run's length; only a hung run reaches it. */
const RUN_LIMIT_MS = 15 * 60_000;

/** Runs schemathesis, echoing its output to stderr as it goes; resolves with its exit code and output. */
function runSchemathesis(venv: string, args: string[]): Promise<{ code: number | null; output: string }> {
  mkdirSync(WORK_DIR, { recursive: true });
  return new Promise((resolveRun, reject) => {
    const child = spawn(join(venv, 'bin', 'st'), args, {
      cwd: WORK_DIR,
      env: { ...process.env, SCHEMATHESIS_HOOKS: join(FUZZ_DIR, 'hooks.py'), NO_COLOR: '1', COLUMNS: '120' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer): void => {
      output += chunk.toString();
      process.stderr.write(chunk);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, output });
    });
  });
}

test('schemathesis finds no server error, undeclared status, wrong content type or schema break in the gateway', async (t) => {
  const venv = await ensureVenv(venvDir('schemathesis'), join(FUZZ_DIR, 'requirements.txt'));
  const upstream = await startUpstreamStandIn(t);
  upstream.chunkDelayMs = 0;
  const adminToken = `fuzz-admin-${randomBytes(16).toString('hex')}`;
  const cache = await startCacheProcess({
    LLMCACHE_DATA_DIR: tempDir(t),
    LLMCACHE_AUTH_REQUIRED: 'true',
    LLMCACHE_AUTH_ADMIN_TOKEN: adminToken,
    LLMCACHE_UPSTREAM_BASE_URL: upstream.url,
    LLMCACHE_UPSTREAM_API_KEY: 'sk-stand-in',
  });
  t.after(() => cache.stop());

  const run = await runSchemathesis(venv, [
    'run',
    join(REPO_ROOT, 'schemas', 'openapi.yaml'),
    '--url',
    cache.url,
    '--header',
    `Authorization: Bearer ${adminToken}`,
    '--checks',
    CHECKS.join(','),
    '--max-examples',
    EXAMPLES,
    '--seed',
    SEED,
    '--workers',
    '1',
    '--request-timeout',
    '30',
    '--generation-database',
    'none',
    '--no-color',
  ]);

  const crashed = cache.child.exitCode !== null || cache.child.signalCode !== null;
  assert.equal(crashed, false, `the cache process ended during the fuzz run:\n${cache.output().slice(-5000)}`);
  const health = await fetch(`${cache.url}/healthz`);
  assert.equal(health.status, 200, 'the gateway still answers after the fuzz run');
  assert.equal(run.code, 0, `schemathesis reported failures (exit code ${run.code}):\n${run.output}`);
  assert.match(run.output, /Test cases:\s+\d+ generated/, 'schemathesis ran its test cases');
});
