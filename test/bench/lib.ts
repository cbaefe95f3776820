/** Shared pieces of the benchmarks: a load generator run, a results table and JSON output. */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import autocannon from 'autocannon';
import { postJson } from '../helpers/cache-process.ts';

export interface LoadResult {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  /** Connection errors and timeouts (a request unanswered for 10 s), together. */
  errors: number;
  timeouts: number;
  /** Errors by code (ECONNRESET, ...) or message. */
  errorKinds: Record<string, number>;
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
  /**
   * Distinct request bodies handed out in turn across all connections, so concurrent connections
   * never send the same body at once (each is used once when amount <= bodies.length).
   */
  bodies?: string[];
  amount?: number;
  /** Sees every response (e.g. to count hits). */
  onResponse?: (status: number, body: string) => void;
}

/** Runs autocannon against one URL and reduces its result to the figures the tables show. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  process.stderr.write(`[bench] ${options.name}: ${options.connections} connections, ${options.durationSeconds}s\n`);
  // autocannon gives every connection its own walk through `requests`; one request whose setup draws
  // from a shared counter spreads the bodies over the connections instead.
  const { bodies, onResponse } = options;
  let next = 0;
  const requests =
    bodies === undefined && onResponse === undefined
      ? undefined
      : [
          {
            method: options.method ?? 'POST',
            headers: { 'content-type': 'application/json' },
            ...(options.body === undefined ? {} : { body: options.body }),
            ...(bodies === undefined ? {} : { setupRequest: (request: object) => ({ ...request, body: bodies[next++ % bodies.length] }) }),
            ...(onResponse === undefined ? {} : { onResponse: (status: number, body: string) => onResponse(status, body) }),
          },
        ];
  const errorKinds: Record<string, number> = {};
  const config: autocannon.Options = {
    url: options.url,
    // autocannon refuses more connections than requests.
    connections: options.amount === undefined ? options.connections : Math.max(1, Math.min(options.connections, options.amount)),
    duration: options.durationSeconds,
    ...(options.amount === undefined ? {} : { amount: options.amount }),
    method: options.method ?? 'POST',
    headers: { 'content-type': 'application/json' },
    ...(options.body === undefined ? {} : { body: options.body }),
    ...(requests === undefined ? {} : { requests }),
  };
  // autocannon notices the end only on its next one-second tick, so its own duration runs long;
  // the rate is taken from the first request to the last response instead.
  const started = performance.now();
  let lastResponse = started;
  let responses = 0;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(config, (error: unknown, done: autocannon.Result) => (error ? reject(error) : resolve(done)));
    instance.on('reqError', (error: Error & { code?: string }) => {
      const kind = error.code ?? error.message;
      errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
    });
    instance.on('response', () => {
      responses += 1;
      lastResponse = performance.now();
    });
  });
  return {
    name: options.name,
    requestsPerSecond: responses / ((lastResponse - started) / 1000),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    p999Ms: result.latency.p99_9,
    errors: result.errors,
    timeouts: result.timeouts,
    errorKinds,
    non2xx: result.non2xx,
    requests: result.requests.total,
  };
}

/** The p-th percentile of an ascending list (NaN when empty). */
export const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/**
 * Stores every prompt (answer `answer <i>`) through the HTTP API, `concurrency` at a time, waiting
 * for each to be searchable, with progress on stderr under `label`; returns stores/s and the stores
 * not confirmed, by status (e.g. 504 past the write timeout).
 */
export async function storeEntries(
  url: string,
  prompts: string[],
  concurrency: number,
  label: string,
): Promise<{ perSecond: number; failed: Record<string, number> }> {
  let next = 0;
  const failed: Record<string, number> = {};
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < prompts.length) {
        const i = next++;
        const { status } = await postJson(`${url}/v1/cache/entries?wait=true`, { prompt: prompts[i], response: `answer ${i}` });
        if (status !== 201) failed[status] = (failed[status] ?? 0) + 1;
        if (i % 100 === 99) {
          const rate = (i + 1) / ((performance.now() - started) / 1000);
          process.stderr.write(`[${label}]   stored ${i + 1}/${prompts.length}, ${rate.toFixed(0)}/s\n`);
        }
      }
    }),
  );
  return { perSecond: prompts.length / ((performance.now() - started) / 1000), failed };
}

export function writeResults(file: string, data: unknown): string {
  const path = resolve('bench-results', file);
  mkdirSync(resolve('bench-results'), { recursive: true });
  writeFileSync(path, JSON.stringify(data, null, 2));
  console.log(`wrote ${path}`);
  return path;
}

/** Rows of cells as a plain-text table: the first column left-aligned, the others right-aligned. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/** What a benchmark registers to be undone on the way out. */
export interface Cleanup {
  /** A step run at the end, last added first, whether the benchmark succeeded, failed or was interrupted. */
  add(step: () => unknown): void;
  /** Child processes killed outright if the benchmark exits before its steps stopped them. */
  children(list: () => Iterable<ChildProcess>): void;
}

const STEP_TIMEOUT_MS = 30_000;

/**
 * Runs a benchmark: its cleanup steps run at the end in every case (a step that hangs is abandoned
 * after 30 s), child processes still alive at exit are killed, and the process exits with 1 if the
 * benchmark threw, so CI sees a crash and no server outlives the run.
 */
export async function runBenchmark(body: (cleanup: Cleanup) => Promise<void>): Promise<never> {
  const steps: Array<() => unknown> = [];
  const childLists: Array<() => Iterable<ChildProcess>> = [];
  let cleaning: Promise<void> | undefined;
  const cleanAll = (): Promise<void> =>
    (cleaning ??= (async () => {
      for (const step of steps.reverse()) {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, STEP_TIMEOUT_MS)));
        try {
          await Promise.race([Promise.resolve().then(step), late]);
        } catch (error) {
          process.stderr.write(`[bench] cleanup step failed: ${(error as Error).message}\n`);
        } finally {
          clearTimeout(timer);
        }
      }
    })());
  process.once('exit', () => {
    for (const list of childLists) {
      for (const child of list()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      process.stderr.write(`[bench] ${signal}: stopping\n`);
      void cleanAll().finally(() => process.exit(code));
    });
  }
  let failed = false;
  try {
    await body({ add: (step) => void steps.push(step), children: (list) => void childLists.push(list) });
  } catch (error) {
    failed = true;
    console.error(error);
  }
  await cleanAll();
  // Exit even if a client library left a handle open: the benchmark is over.
  process.exit(failed ? 1 : 0);
}
