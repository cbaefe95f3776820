import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVICE_NAMES } from '@llm-cache/runtime';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));

/**
 * `llm-cache cluster`: one process per service (distributed adapters), their output prefixed with the
 * service name. Stops them all on SIGINT/SIGTERM, and all of them when one exits.
 */
export async function clusterCommand(options: { replicas: Record<string, number>; stack?: boolean }): Promise<void> {
  const stackConfig = options.stack ? { LLMCACHE_CONFIG: localStackConfig() } : {};
  const children: Array<{ name: string; child: ChildProcess }> = [];
  let stopping = false;
  const stopAll = (code: number): void => {
    if (stopping) return;
    stopping = true;
    for (const { child } of children) child.kill('SIGTERM');
    const timer = setTimeout(() => process.exit(code), 10_000);
    timer.unref();
    void Promise.all(
      children.map(({ child }) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)))),
    ).then(() => process.exit(code));
  };
  let metricsOffset = 0;
  for (const service of SERVICE_NAMES) {
    const count = options.replicas[service] ?? 1;
    for (let i = 0; i < count; i++) {
      const name = count > 1 ? `${service}-${i + 1}` : service;
      const env = {
        ...process.env,
        ...stackConfig,
        LLMCACHE_MODE: 'distributed',
        ...(service === 'gateway' && i > 0 ? { LLMCACHE_PORT: String(Number(process.env.LLMCACHE_PORT ?? 8080) + i) } : {}),
        // Each process without a gateway serves its own /metrics on the next port from LLMCACHE_METRICS_PORT.
        ...(service !== 'gateway' && Number(process.env.LLMCACHE_METRICS_PORT ?? 0) > 0
          ? { LLMCACHE_METRICS_PORT: String(Number(process.env.LLMCACHE_METRICS_PORT) + metricsOffset++) }
          : {}),
      };
      const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'service', service], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const prefix = `[${name}] `;
      const forward = (stream: NodeJS.WritableStream) => (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) if (line !== '') stream.write(`${prefix}${line}\n`);
      };
      child.stdout?.on('data', forward(process.stdout));
      child.stderr?.on('data', forward(process.stderr));
      child.once('exit', (code, signal) => {
        if (!stopping) {
          process.stderr.write(`${prefix}exited (${signal ?? code}); stopping the others\n`);
          stopAll(1);
        }
      });
      children.push({ name, child });
    }
  }
  process.on('SIGINT', () => stopAll(0));
  process.on('SIGTERM', () => stopAll(0));
}

/**
 * The configuration file that `npm run stack:up` writes with the local stack's addresses and
 * credentials (infra/stack/stack.sh, in LLMCACHE_STACK_DIR). Environment variables still override it.
 */
export function localStackConfig(): string {
  const file = join(process.env.LLMCACHE_STACK_DIR ?? join(homedir(), '.cache', 'llm-cache', 'run'), 'llm-cache.yaml');
  if (!existsSync(file)) {
    process.stderr.write(`llm-cache: ${file} is missing: start the local stack first (npm run stack:up), which writes it\n`);
    process.exit(2);
  }
  return file;
}
