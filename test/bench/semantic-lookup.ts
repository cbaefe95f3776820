/**
 * Semantic lookups of distinct paraphrases over HTTP, in embedded mode and in distributed mode (every
 * service its own process on the local stack), the same texts at the same concurrency in the same run.
 * Each mode stores question a of the first pairs of qqp-dev.jsonl, then looks up question b of the
 * same pairs: every lookup text is new to the gateway, so every one is embedded and searched. Usage:
 *   npm run bench:semantic -- [--requests 2000] [--connections 16] [--modes embedded,distributed] [--data ...]
 */
import { parseArgs } from 'node:util';
import { exactKeyText } from '@llm-cache/core';
import { postJson, startCacheProcess, tempDir, type CacheProcess } from '../helpers/cache-process.ts';
import { freshDistributedEnv, startDistributedCluster } from '../helpers/distributed-cluster.ts';
import { formatTable, runBenchmark, runLoad, writeResults, type Cleanup, type LoadResult } from './lib.ts';
import { writePlot } from './plot.ts';
import { DEFAULT_PAIRS_FILE, readPairs } from './qqp.ts';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: DEFAULT_PAIRS_FILE },
    requests: { type: 'string', default: '2000' },
    connections: { type: 'string', default: '16' },
    modes: { type: 'string', default: 'embedded,distributed' },
  },
});
const requests = Number(values.requests);
const connectionCounts = values.connections.split(',').map(Number);
const modes = values.modes.split(',') as Array<'embedded' | 'distributed'>;
const STORE_CONCURRENCY = 16;
const WARM_UP = 32;

interface Row extends LoadResult {
  mode: string;
  connections: number;
  hits: number;
  /** Lookups the gateway answered as a miss because no outcome came within its lookup timeout. */
  timedOut: number;
}

/** A running deployment: its gateway URL, the gateway's log, and how to stop it. */
interface Deployment {
  url: string;
  gatewayOutput: () => string;
}

async function deploy(mode: 'embedded' | 'distributed', cleanup: Cleanup): Promise<Deployment> {
  process.stderr.write(`[semantic] starting ${mode} mode\n`);
  if (mode === 'embedded') {
    const cache = await startCacheProcess({
      LLMCACHE_DATA_DIR: tempDir({ after: (fn) => cleanup.add(fn) }),
      LLMCACHE_LOG_LEVEL: 'warn',
    });
    cleanup.add(() => cache.stop());
    cleanup.children(() => [cache.child]);
    return { url: cache.url, gatewayOutput: () => cache.output() };
  }
  const cluster = await startDistributedCluster({ ...freshDistributedEnv(), LLMCACHE_LOG_LEVEL: 'warn' });
  cleanup.add(() => cluster.stop());
  cleanup.children(() => [...cluster.processes.values()].map((p) => p.child));
  const gateway = cluster.processes.get('gateway-1') as CacheProcess;
  return { url: cluster.urls[0] as string, gatewayOutput: () => gateway.output() };
}

/** Stores every prompt through the HTTP API, `STORE_CONCURRENCY` at a time, each confirmed; returns stores/s. */
async function store(url: string, prompts: string[]): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: STORE_CONCURRENCY }, async () => {
      while (next < prompts.length) {
        const i = next++;
        const { status } = await postJson(`${url}/v1/cache/entries?wait=true`, { prompt: prompts[i], response: `answer ${i}` });
        if (status !== 201) throw new Error(`storing entry ${i} answered ${status}`);
        if (i % 500 === 499) process.stderr.write(`[semantic]   stored ${i + 1}/${prompts.length}\n`);
      }
    }),
  );
  return prompts.length / ((performance.now() - started) / 1000);
}

await runBenchmark(async (cleanup) => {
  // Question a of each pair is stored, question b looked up; texts equal after normalization are
  // dropped so no lookup can be answered by the exact tier.
  const needed = requests * connectionCounts.length + WARM_UP;
  const seen = new Set<string>();
  const stored: string[] = [];
  const lookups: string[] = [];
  for (const pair of await readPairs(values.data, 40_000)) {
    const [a, b] = [exactKeyText(pair.a), exactKeyText(pair.b)];
    if (a === '' || b === '' || seen.has(a) || seen.has(b) || a === b) continue;
    seen.add(a).add(b);
    stored.push(pair.a);
    lookups.push(pair.b);
    if (lookups.length === needed) break;
  }
  if (lookups.length < needed) throw new Error(`${values.data} has only ${lookups.length} usable pairs, ${needed} needed`);
  const warmUp = lookups.slice(0, WARM_UP);

  const rows: Row[] = [];
  const storeRates: Record<string, number> = {};
  for (const mode of modes) {
    const modeCleanup: Array<() => unknown> = [];
    const deployment = await deploy(mode, {
      add: (step) => void modeCleanup.push(step),
      children: (list) => cleanup.children(list),
    });
    // Stopped as soon as its mode is measured (so the next one has the machine), or at the end if it fails.
    const stop = async (): Promise<void> => {
      for (const step of modeCleanup.splice(0).reverse()) await step();
    };
    cleanup.add(stop);
    process.stderr.write(`[semantic] ${mode}: storing ${stored.length} entries\n`);
    storeRates[mode] = await store(deployment.url, stored);
    await Promise.all(warmUp.map((prompt) => postJson(`${deployment.url}/v1/cache/lookup`, { prompt })));
    for (const [level, connections] of connectionCounts.entries()) {
      const texts = lookups.slice(WARM_UP + level * requests, WARM_UP + (level + 1) * requests);
      let hits = 0;
      const timedOutBefore = deployment.gatewayOutput().split('lookup timed out').length - 1;
      const result = await runLoad({
        name: `${mode}, ${connections} connections`,
        url: `${deployment.url}/v1/cache/lookup`,
        connections,
        durationSeconds: 3600,
        amount: texts.length,
        bodies: texts.map((prompt) => JSON.stringify({ prompt })),
        onResponse: (status, body) => {
          if (status === 200 && (JSON.parse(body) as { hit?: boolean }).hit === true) hits += 1;
        },
      });
      const timedOut = deployment.gatewayOutput().split('lookup timed out').length - 1 - timedOutBefore;
      rows.push({ ...result, mode, connections, hits, timedOut });
    }
    await stop();
  }

  console.log(`\nSemantic lookups of distinct paraphrases over HTTP, ${requests} per run, ${stored.length} entries stored`);
  console.log(
    formatTable(
      ['mode', 'connections', 'lookups/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'hit rate', 'timed out', 'errors', 'non-2xx'],
      rows.map((r) => [
        r.mode,
        String(r.connections),
        r.requestsPerSecond.toFixed(0),
        r.p50Ms.toFixed(1),
        r.p99Ms.toFixed(1),
        r.p999Ms.toFixed(1),
        `${((100 * r.hits) / Math.max(1, r.requests)).toFixed(1)}%`,
        String(r.timedOut),
        String(r.errors),
        String(r.non2xx),
      ]),
    ),
  );
  for (const [mode, rate] of Object.entries(storeRates))
    console.log(`${mode}: stored ${rate.toFixed(0)} entries/s (${STORE_CONCURRENCY} at a time)`);
  writeResults('semantic-lookup.json', { data: values.data, requests, entries: stored.length, storeRates, rows });

  const series = (metric: (r: Row) => number, label: (c: number) => string): Array<{ name: string; points: Array<[string, number]> }> =>
    connectionCounts.map((connections) => ({
      name: label(connections),
      points: rows.filter((r) => r.connections === connections).map((r): [string, number] => [r.mode, metric(r)]),
    }));
  await writePlot('semantic-lookup-throughput.svg', {
    title: 'Semantic lookups of distinct paraphrases: throughput',
    xLabel: 'mode',
    yLabel: 'lookups/s',
    kind: 'bar',
    series: series(
      (r) => r.requestsPerSecond,
      (c) => `${c} connections`,
    ),
  });
  await writePlot('semantic-lookup-latency.svg', {
    title: 'Semantic lookups of distinct paraphrases: latency',
    xLabel: 'mode',
    yLabel: 'latency (ms)',
    kind: 'bar',
    series: [
      ...series(
        (r) => r.p50Ms,
        (c) => `p50, ${c} connections`,
      ),
      ...series(
        (r) => r.p99Ms,
        (c) => `p99, ${c} connections`,
      ),
    ],
  });
});
