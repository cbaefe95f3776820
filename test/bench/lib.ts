/** Shared pieces of the benchmarks: a load generator run, a results table and JSON output. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import autocannon from 'autocannon';

export interface LoadResult {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  errors: number;
  non2xx: number;
  requests: number;
}

export interface LoadOptions {
  name: string;
  url: string;
  connections: number;
  durationSeconds: number;
  method?: 'GET' | 'POST';
  body?: string;
  /** Distinct request bodies, used in turn (each at most once when amount is set). */
  bodies?: string[];
  amount?: number;
}

/** Runs autocannon against one URL and reduces its result to the figures the tables show. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  process.stderr.write(`[bench] ${options.name}: ${options.connections} connections, ${options.durationSeconds}s\n`);
  const requests = options.bodies?.map((body) => ({
    method: options.method ?? 'POST',
    body,
    headers: { 'content-type': 'application/json' },
  }));
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.durationSeconds,
    ...(options.amount === undefined ? {} : { amount: options.amount }),
    method: options.method ?? 'POST',
    headers: { 'content-type': 'application/json' },
    ...(options.body === undefined ? {} : { body: options.body }),
    ...(requests === undefined ? {} : { requests }),
  });
  return {
    name: options.name,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    p999Ms: result.latency.p99_9,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    requests: result.requests.total,
  };
}

export function printTable(title: string, rows: LoadResult[]): void {
  console.log(`\n${title}`);
  console.log('scenario                                   req/s     p50 ms   p99 ms  p99.9 ms  errors  non-2xx');
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(40)} ${r.requestsPerSecond.toFixed(0).padStart(8)} ${r.p50Ms.toFixed(1).padStart(9)} ${r.p99Ms.toFixed(1).padStart(8)} ${r.p999Ms.toFixed(1).padStart(9)} ${String(r.errors).padStart(7)} ${String(r.non2xx).padStart(8)}`,
    );
  }
}

export function writeResults(file: string, data: unknown): string {
  const path = resolve('bench-results', file);
  mkdirSync(resolve('bench-results'), { recursive: true });
  writeFileSync(path, JSON.stringify(data, null, 2));
  console.log(`wrote ${path}`);
  return path;
}
