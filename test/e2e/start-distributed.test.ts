import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { postJson, REPO_ROOT } from '../helpers/cache-process.ts';

/** The environment a newcomer has: this machine's, without a single LLMCACHE_* setting. */
function cleanEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LLMCACHE_')));
}

test('npm run start:distributed, exactly as the README says, starts the five services on the local stack and serves', async (t) => {
  const child = spawn('npm', ['run', 'start:distributed'], {
    cwd: REPO_ROOT,
    env: cleanEnvironment(),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(async () => {
    // npm, its shell, `llm-cache cluster` and the five services: the whole process group.
    if (child.exitCode === null) process.kill(-(child.pid as number), 'SIGTERM');
    await exited;
  });
  const deadline = Date.now() + 180_000;
  const url = 'http://127.0.0.1:8080';
  for (;;) {
    if (child.exitCode !== null) assert.fail(`npm run start:distributed exited with ${child.exitCode}:\n${output}`);
    if (/\[gateway\].*listening on http:\/\/127\.0\.0\.1:8080/.test(output)) break;
    if (Date.now() > deadline) assert.fail(`the gateway did not listen on ${url} within 180 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const topic = `the ${randomBytes(4).toString('hex')} river delta`;
  const stored = await postJson(`${url}/v1/cache/entries?wait=true`, { prompt: `Tell me about ${topic}`, response: `All about ${topic}.` });
  assert.equal(stored.status, 201, `${JSON.stringify(stored.body)}\n${output}`);
  const hit = await postJson(`${url}/v1/cache/lookup`, { prompt: `Please tell me about ${topic}` });
  assert.equal(hit.body.hit, true, `${JSON.stringify(hit.body)}\n${output}`);
  assert.equal(hit.body.response, `All about ${topic}.`);
  assert.equal(hit.body.tier, 'semantic', 'answered by the matcher through Kafka and Milvus');
  // The entry lives in the default database a developer's own start uses: leave it as it was.
  const deleted = await fetch(`${url}/v1/cache/entries/${stored.body.id}`, { method: 'DELETE' });
  assert.equal(deleted.status, 200);
  assert.doesNotMatch(output, /Could not load credentials|exited \(/, 'no service failed on the way');
});
