import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface CacheProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process wrote (stdout and stderr), for assertions and for failure reports. */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `llm-cache start` (what `npm start` runs), or the command given, as a real child process on
 * a free port and waits until it prints its address (or that its services run). A start that fails
 * throws with the process's output.
 */
export async function startCacheProcess(
  env: Record<string, string>,
  timeoutMs = 60_000,
  args: string[] = ['start'],
): Promise<CacheProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/cli/src/main.ts', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, LLMCACHE_PORT: '0', LLMCACHE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`llm-cache did not start within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (): void => {
      const match = /listening on (https?:\/\/[^\s)]+)/.exec(output);
      if (match?.[1] || /running \(distributed\)/.test(output)) {
        clearTimeout(timer);
        resolveUrl(match?.[1] ?? '');
      }
    };
    child.stdout.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`llm-cache exited with ${code} before listening:\n${output}`));
    });
  });
  return {
    url,
    child,
    output: () => output,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** A fresh temporary folder removed after the test. */
export function tempDir(t: { after: (fn: () => void) => void }, prefix = 'llm-cache-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
}
