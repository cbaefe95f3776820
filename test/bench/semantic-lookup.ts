/**
 * Semantic lookups of distinct paraphrases over HTTP, in embedded mode and in distributed mode (every
 * service its own process on the local stack), the same texts at the same concurrency in the same run.
 * Each mode stores question a of the first `--entries` pairs of qqp-dev.jsonl, then looks up question
 * b of the first `--requests` pairs: every lookup text is new to the gateway, so every one is embedded
 * and searched (those whose a is stored can hit). Usage:
 *   npm run bench:semantic -- [--requests 2000] [--entries 500] [--connections 16] [--modes embedded,distributed] [--warm-up 200] [--data ...]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startCacheProcess, tempDir, type CacheProcess } from '../helpers/cache-process.ts';
import { freshDistributedEnv, startDistributedCluster } from '../helpers/distributed-cluster.ts';
import { formatTable, runBenchmark, runLoad, storeEntries, writeResults, type Cleanup, type LoadResult } from './lib.ts';
import { writePlot } from './plot.ts';
import { treeCpuSeconds } from './proc.ts';
import { DEFAULT_PAIRS_FILE, distinctPairs } from './qqp.ts';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: DEFAULT_PAIRS_FILE },
    requests: { type: 'string', default: '2000' },
    entries: { type: 'string', default: '500' },
    connections: { type: 'string', default: '16' },
    modes: { type: 'string', default: 'embedded,distributed' },
    'warm-up': { type: 'string', default: '200' },
  },
});
const requests = Number(values.requests);
const entries = Number(values.entries);
const connectionCounts = values.connections.split(',').map(Number);
const modes = values.modes.split(',') as Array<'embedded' | 'distributed'>;
for (const mode of modes) if (mode !== 'embedded' && mode !== 'distributed') throw new Error(`unknown mode ${mode}`);
const STORE_CONCURRENCY = 16;
/** Lookups sent before measuring, so the processes' code is compiled and optimized (not stored: misses). */
const WARM_UP = Number(values['warm-up']);

interface Row extends LoadResult {
  mode: string;
  connections: number;
  hits: number;
  /** Lookups the gateway answered as a miss because no outcome came within its lookup timeout. */
  timedOut: number;
  /** CPU milliseconds per lookup, by process, over the run (stack servers also serve anything else using them). */
  cpuMsPerLookup: Record<string, number>;
}

/** A running deployment (stopped through the cleanup it was started with): its gateway URL, log and processes. */
interface Deployment {
  url: string;
  gatewayOutput: () => string;
  /** Process ids by name: this deployment's own, then the local stack's servers it uses. */
  pids: () => Map<string, number>;
}

/** The local stack's servers (infra/stack keeps their pid files), for CPU accounting. */
function stackPids(): Map<string, number> {
  const dir = join(process.env.LLMCACHE_STACK_DIR ?? join(homedir(), '.cache', 'llm-cache', 'run'), 'pids');
  const pids = new Map<string, number>();
  try {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.pid') && f !== 'prometheus.pid')) {
      pids.set(file.replace(/\.pid$/, ''), Number(readFileSync(join(dir, file), 'utf8').trim()));
    }
  } catch {
    // no stack started by infra/stack: its servers are not counted
  }
  return pids;
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
    return { url: cache.url, gatewayOutput: () => cache.output(), pids: () => new Map([['llm-cache', cache.child.pid as number]]) };
  }
  const cluster = await startDistributedCluster({ ...freshDistributedEnv(), LLMCACHE_LOG_LEVEL: 'warn' });
  cleanup.add(() => cluster.destroy());
  cleanup.children(() => [...cluster.processes.values()].map((p) => p.child));
  const gateway = cluster.processes.get('gateway-1') as CacheProcess;
  return {
    url: cluster.urls[0] as string,
    gatewayOutput: () => gateway.output(),
    pids: () => new Map([...[...cluster.processes].map(([name, p]): [string, number] => [name, p.child.pid as number]), ...stackPids()]),
  };
}

await runBenchmark(async (cleanup) => {
  // Question b of each pair is looked up, question a of the first pairs of each run stored; texts
  // equal after normalization are dropped so no lookup can be answered by the exact tier.
  const needed = requests * connectionCounts.length + WARM_UP;
  const pairs = await distinctPairs(values.data, needed);
  const questions = pairs.map((pair) => pair.a);
  const lookups = pairs.map((pair) => pair.b);
  if (lookups.length < needed) throw new Error(`${values.data} has only ${lookups.length} usable pairs, ${needed} needed`);
  const warmUp = lookups.slice(0, WARM_UP);
  const runSlice = (level: number): [number, number] => [WARM_UP + level * requests, WARM_UP + (level + 1) * requests];
  const stored = connectionCounts.flatMap((_, level) => {
    const [start] = runSlice(level);
    return questions.slice(start, start + Math.min(entries, requests));
  });

  const rows: Row[] = [];
  const stores: Record<string, { perSecond: number; failed: Record<string, number> }> = {};
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
    stores[mode] = await storeEntries(deployment.url, stored, STORE_CONCURRENCY, 'semantic');
    process.stderr.write(`[semantic] ${mode}: ${warmUp.length} warm-up lookups\n`);
    if (warmUp.length > 0) {
      await runLoad({
        name: `${mode}, warm-up`,
        url: `${deployment.url}/v1/cache/lookup`,
        connections: Math.max(...connectionCounts),
        durationSeconds: 3600,
        amount: warmUp.length,
        bodies: warmUp.map((prompt) => JSON.stringify({ prompt })),
      });
    }
    for (const [level, connections] of connectionCounts.entries()) {
      const texts = lookups.slice(...runSlice(level));
      let hits = 0;
      const timedOutBefore = deployment.gatewayOutput().split('lookup timed out').length - 1;
      const pids = deployment.pids();
      // Each process with the processes it started (Milvus' launcher runs the server as its child).
      const cpuBefore = treeCpuSeconds(pids);
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
      const cpuAfter = treeCpuSeconds(pids);
      const cpuMsPerLookup = Object.fromEntries(
        [...pids.keys()].map((name) => [
          name,
          (1000 * ((cpuAfter.get(name) ?? NaN) - (cpuBefore.get(name) ?? NaN))) / Math.max(1, result.requests),
        ]),
      );
      rows.push({ ...result, mode, connections, hits, timedOut, cpuMsPerLookup });
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
  for (const [mode, { perSecond, failed }] of Object.entries(stores)) {
    const failures = Object.entries(failed).map(([status, n]) => `${n} answered ${status}`);
    console.log(
      `${mode}: stored ${perSecond.toFixed(0)} entries/s (${STORE_CONCURRENCY} at a time)${failures.length ? `; not confirmed: ${failures.join(', ')}` : ''}`,
    );
  }
  console.log('\nCPU time per lookup by process, ms (stack servers: whatever else used them meanwhile included)');
  for (const r of rows) {
    const parts = Object.entries(r.cpuMsPerLookup)
      .filter(([, ms]) => Number.isFinite(ms))
      .map(([name, ms]) => `${name} ${ms.toFixed(1)}`);
    const total = Object.values(r.cpuMsPerLookup).reduce((sum, ms) => sum + (Number.isFinite(ms) ? ms : 0), 0);
    console.log(`${r.mode}, ${r.connections} connections: ${total.toFixed(1)} in all: ${parts.join(', ')}`);
  }
  writeResults('semantic-lookup.json', { data: values.data, requests, entries: stored.length, stores, rows });

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
  await writePlot('semantic-lookup-cpu.svg', {
    title: 'CPU time per semantic lookup, by process',
    xLabel: 'process',
    yLabel: 'CPU ms per lookup',
    kind: 'bar',
    series: rows.map((r) => ({
      name: `${r.mode}, ${r.connections} connections`,
      points: Object.entries(r.cpuMsPerLookup)
        .filter(([, ms]) => Number.isFinite(ms))
        .map(([name, ms]): [string, number] => [name, ms]),
    })),
  });
});
