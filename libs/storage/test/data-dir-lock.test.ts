import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { CacheError } from '@llm-cache/core';
import { lockDataDir } from '@llm-cache/storage';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A child process that takes the lock and keeps it until it is killed. */
async function holdInChild(t: TestContext, dir: string): Promise<{ pid: number; kill9(): Promise<void> }> {
  const script = `import { lockDataDir } from '@llm-cache/storage'; lockDataDir(${JSON.stringify(dir)}); console.log('held'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: import.meta.dirname,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.after(() => void child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('held') && resolve());
    void exited.then(() => reject(new Error('the lock holder exited early')));
  });
  return {
    pid: child.pid as number,
    kill9: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

test('a second lock on a data folder in the same process is refused until the first is released', (t) => {
  const dir = tempDir(t);
  const lock = lockDataDir(dir);
  assert.throws(
    () => lockDataDir(dir),
    (error: unknown) =>
      error instanceof CacheError &&
      error.code === 'LLMCACHE_STORAGE' &&
      !error.retryable &&
      error.message.includes(dir) &&
      error.message.includes(`pid ${process.pid}`),
  );
  lock.release();
  lockDataDir(dir).release();
});

test('a lock held by another process is refused with its pid, and dies with that process', async (t) => {
  const dir = tempDir(t);
  const holder = await holdInChild(t, dir);
  assert.throws(() => lockDataDir(dir), new RegExp(`data folder ${dir} is in use by another LLM-Cache process \\(pid ${holder.pid},`));
  await holder.kill9();
  const lock = lockDataDir(dir);
  t.after(() => lock.release());
  assert.equal(JSON.parse(readFileSync(join(dir, 'llm-cache.lock.json'), 'utf8')).pid, process.pid);
});
