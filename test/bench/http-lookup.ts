/**
 * Exact-repeat hits over HTTP against the running embedded LLM-Cache, next to a bare node:http server
 * that returns the same bytes (the ceiling of any Node HTTP path), measured in the same run by the
 * same load generator, at each connection count (keep-alive: every connection stays open for the run;
 * the server side is counted from /proc to show it). Closed-loop scenarios (autocannon) send again as
 * soon as answered: the most a server does. Paced ones hold many connections that share
 * `--paced-rate` requests per second in all, evenly spread: many mostly idle clients. Usage:
 *   npm run bench:http -- [--seconds 10] [--connections 50,5000] [--paced-connections 5000] [--paced-rate 1000] [--warm-up 5]
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { postJson, startCacheProcess, tempDir } from '../helpers/cache-process.ts';
import { formatTable, runBenchmark, runLoad, writeResults, type LoadResult } from './lib.ts';
import { runPaced } from './paced-load.ts';
import { writePlot } from './plot.ts';
import { cpuSeconds, establishedOnPort, openFilesLimit, peakConnections, settled } from './proc.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50,5000' },
    'paced-connections': { type: 'string', default: '5000' },
    'paced-rate': { type: 'string', default: '1000' },
    'warm-up': { type: 'string', default: '5' },
  },
});
const seconds = Number(values.seconds);
const warmUpSeconds = Number(values['warm-up']);
const list = (option: string, value: string): number[] => {
  const counts = value === '' ? [] : value.split(',').map(Number);
  if (counts.some((count) => !Number.isInteger(count) || count <= 0)) {
    throw new Error(`--${option} takes positive whole numbers separated by commas (empty runs none), not "${value}"`);
  }
  return counts;
};
// Paced runs first: a closed loop over thousands of connections leaves both servers busy for a while.
const scenarios: Array<{ connections: number; rate?: number; label: string }> = [
  ...list('paced-connections', values['paced-connections']).map((connections) => ({
    connections,
    rate: Number(values['paced-rate']),
    label: `${connections} connections, ${values['paced-rate']} req/s in all`,
  })),
  ...list('connections', values.connections).map((connections) => ({ connections, label: `${connections} connections, closed loop` })),
];

interface Row extends LoadResult {
  target: 'bare' | 'llm-cache';
  scenario: string;
  connections: number;
  /** Requests per second over all connections; absent in a closed loop. */
  rate?: number;
  /** Most established connections to the server's port at once (sampled from /proc/net/tcp). */
  establishedConnections: number;
  /** Most of those the server process held open at once (its own socket descriptors). */
  serverConnections: number;
  /** Seconds into the run when the server first held that many. */
  heldAfterSeconds: number;
  /** CPU time the server process spent per answered request (a figure other load on the machine barely moves). */
  serverCpuMicrosPerRequest: number;
  /** Paced runs: percentiles of the requests sent on connections already open. */
  openP50Ms?: number;
  openP99Ms?: number;
}

await runBenchmark(async (cleanup) => {
  const dataDir = tempDir({ after: (fn) => cleanup.add(fn) });
  process.stderr.write('[bench] starting LLM-Cache (embedded)\n');
  const cache = await startCacheProcess({ LLMCACHE_DATA_DIR: dataDir, LLMCACHE_LOG_LEVEL: 'warn' });
  cleanup.add(() => cache.stop());
  cleanup.children(() => [cache.child]);
  const prompt = 'How do I reverse a list in Python?';
  await postJson(`${cache.url}/v1/cache/entries?wait=true`, { prompt, response: 'Use my_list.reverse() or my_list[::-1].' });
  const body = JSON.stringify({ prompt });
  const hitBytes = JSON.stringify((await postJson(`${cache.url}/v1/cache/lookup`, { prompt })).body);

  // The baseline runs in a process of its own, like the cache, so both compete with the load generator alike.
  const bare = spawn(process.execPath, ['--import', 'tsx', 'test/bench/bare-server.ts'], {
    env: { ...process.env, BARE_BODY: hitBytes },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cleanup.add(() => new Promise((done) => (bare.exitCode === null ? bare.once('exit', done).kill('SIGTERM') : done(null))));
  cleanup.children(() => [bare]);
  const bareUrl = await new Promise<string>((done, fail) => {
    bare.once('exit', (code) => fail(new Error(`the bare server exited with ${code}`)));
    bare.stdout.on('data', (chunk: Buffer) => {
      const match = /listening on (\S+)/.exec(chunk.toString());
      if (match?.[1]) done(`${match[1]}/`);
    });
  });

  const targets = [
    { target: 'bare', name: 'bare node:http, same bytes', url: bareUrl, pid: bare.pid as number },
    { target: 'llm-cache', name: 'LLM-Cache exact-repeat hit', url: `${cache.url}/v1/cache/lookup`, pid: cache.child.pid as number },
  ] as const;
  // Node raises its soft open-files limit to the hard one at start; what each process got is what counts.
  const most = Math.max(...scenarios.map((s) => s.connections));
  for (const { name, pid } of [...targets, { name: 'load generator (this process)', pid: process.pid }]) {
    const limit = openFilesLimit(pid);
    console.log(`${name}: pid ${pid}, open files limit ${limit ?? 'unlimited'}`);
    if (limit !== undefined && limit < most + 100) {
      throw new Error(`${name} may open only ${limit} files, too few for ${most} connections: raise the hard limit (ulimit -Hn)`);
    }
  }

  // A fresh process runs its code cold for the first seconds (compiled on first use, then optimized):
  // load both servers first, unrecorded, so every scenario measures them warm.
  for (const { name, url } of targets) {
    if (warmUpSeconds > 0) await runLoad({ name: `${name} (warm-up)`, url, connections: 50, durationSeconds: warmUpSeconds, body });
  }

  const rows: Row[] = [];
  for (const { connections, rate, label } of scenarios) {
    for (const { target, name, url, pid } of targets) {
      const port = Number(new URL(url).port);
      const before = establishedOnPort(port).size;
      const cpuBefore = cpuSeconds(pid);
      const peak = await peakConnections(
        pid,
        port,
        rate === undefined
          ? runLoad({ name: `${name} (${label})`, url, connections, durationSeconds: seconds, body })
          : runPaced({ name: `${name} (${label})`, url, connections, rate, durationSeconds: seconds, body }),
      );
      rows.push({
        ...peak.result,
        target,
        scenario: label,
        connections,
        ...(rate === undefined ? {} : { rate }),
        establishedConnections: peak.established,
        serverConnections: peak.held,
        heldAfterSeconds: peak.heldAfterSeconds,
        serverCpuMicrosPerRequest: (1e6 * (cpuSeconds(pid) - cpuBefore)) / Math.max(1, peak.result.requests),
      });
      process.stderr.write(
        `[bench]   ${peak.established} connections established, ${peak.held} held open by the server process (${peak.heldAfterSeconds.toFixed(1)}s in)\n`,
      );
      // The next run starts once this one's connections are gone and the server has caught up.
      const left = await settled(port, before);
      if (left > before) process.stderr.write(`[bench]   ${left - before} connections still open after 15 s\n`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  console.log(`\nExact-repeat lookups over HTTP keep-alive, ${seconds}s each`);
  console.log(
    formatTable(
      [
        'scenario',
        'req/s',
        'p50 ms',
        'p99 ms',
        'p99.9 ms',
        'errors',
        'timeouts',
        'non-2xx',
        'conns held',
        'held after s',
        'server CPU us/req',
      ],
      rows.map((r) => [
        r.name,
        r.requestsPerSecond.toFixed(0),
        r.p50Ms.toFixed(1),
        r.p99Ms.toFixed(1),
        r.p999Ms.toFixed(1),
        String(r.errors),
        String(r.timeouts),
        String(r.non2xx),
        String(r.serverConnections),
        r.heldAfterSeconds.toFixed(1),
        r.serverCpuMicrosPerRequest.toFixed(0),
      ]),
    ),
  );
  for (const r of rows.filter((row) => row.openP99Ms !== undefined)) {
    console.log(`${r.name}: on connections already open, p50 ${r.openP50Ms?.toFixed(1)} ms, p99 ${r.openP99Ms?.toFixed(1)} ms`);
  }
  for (const r of rows.filter((row) => row.errors > 0)) console.log(`${r.name}: errors ${JSON.stringify(r.errorKinds)}`);
  const ratios = scenarios.map(({ label }) => {
    const of = (target: Row['target']): Row => rows.find((r) => r.scenario === label && r.target === target) as Row;
    const ratio = of('llm-cache').requestsPerSecond / of('bare').requestsPerSecond;
    console.log(`${label}: LLM-Cache answers ${(100 * ratio).toFixed(0)}% of bare node:http's requests/s`);
    return { scenario: label, exactVsBare: ratio };
  });
  writeResults('http-lookup.json', { seconds, rows, ratios });

  const series = (metric: (r: Row) => number): Array<{ name: string; points: Array<[string, number]> }> =>
    targets.map(({ target, name }) => ({
      name,
      points: rows.filter((r) => r.target === target).map((r): [string, number] => [r.scenario, metric(r)]),
    }));
  await writePlot('http-lookup-throughput.svg', {
    title: 'Exact-repeat lookups: throughput',
    xLabel: 'scenario (keep-alive connections)',
    yLabel: 'requests/s',
    kind: 'bar',
    series: series((r) => r.requestsPerSecond),
  });
  await writePlot('http-lookup-p99.svg', {
    title: 'Exact-repeat lookups: p99 latency',
    xLabel: 'scenario (keep-alive connections)',
    yLabel: 'p99 latency (ms)',
    kind: 'bar',
    series: series((r) => r.p99Ms),
  });
});
