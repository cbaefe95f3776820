/**
 * Exact-repeat hits over HTTP against the running embedded LLM-Cache, next to a bare node:http server
 * that returns the same bytes (the ceiling of any Node HTTP path), measured in the same run by the
 * same load generator, at each connection count (keep-alive: every connection stays open for the run;
 * the server side is counted from /proc to show it). Closed-loop scenarios send again as soon as
 * answered (the most a server does); paced ones hold many connections that each send `--paced-rate`
 * requests per second, the shape of many mostly idle clients. Usage:
 *   npm run bench:http -- [--seconds 10] [--connections 50,5000] [--paced-connections 5000] [--paced-rate 1]
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { postJson, startCacheProcess, tempDir } from '../helpers/cache-process.ts';
import { formatTable, runBenchmark, runLoad, writeResults, type LoadResult } from './lib.ts';
import { writePlot } from './plot.ts';
import { openFilesLimit, peakConnections } from './sockets.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50,5000' },
    'paced-connections': { type: 'string', default: '5000' },
    'paced-rate': { type: 'string', default: '1' },
  },
});
const seconds = Number(values.seconds);
const list = (value: string): number[] => (value === '' ? [] : value.split(',').map(Number));
const scenarios: Array<{ connections: number; rate?: number; label: string }> = [
  ...list(values.connections).map((connections) => ({ connections, label: `${connections} connections, closed loop` })),
  ...list(values['paced-connections']).map((connections) => ({
    connections,
    rate: Number(values['paced-rate']),
    label: `${connections} connections x ${values['paced-rate']} req/s`,
  })),
];

interface Row extends LoadResult {
  target: 'bare' | 'llm-cache';
  scenario: string;
  connections: number;
  /** Requests per second per connection; absent in a closed loop. */
  connectionRate?: number;
  /** Most established connections to the server's port at once (sampled from /proc/net/tcp). */
  establishedConnections: number;
  /** Most of those the server process held open at once (its own socket descriptors). */
  serverConnections: number;
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
  const most = Math.max(...scenarios.map((s) => s.connections));
  for (const { name, pid } of targets) {
    const limit = openFilesLimit(pid);
    console.log(`${name}: pid ${pid}, open files limit ${limit ?? 'unlimited'}`);
    if (limit !== undefined && limit < most + 100) {
      throw new Error(`${name} may open only ${limit} files, fewer than ${most} connections need: raise ulimit -n`);
    }
  }

  const rows: Row[] = [];
  for (const { connections, rate, label } of scenarios) {
    for (const { target, name, url, pid } of targets) {
      const peak = await peakConnections(
        pid,
        Number(new URL(url).port),
        runLoad({
          name: `${name} (${label})`,
          url,
          connections,
          durationSeconds: seconds,
          body,
          ...(rate === undefined ? {} : { connectionRate: rate }),
        }),
      );
      rows.push({
        ...peak.result,
        target,
        scenario: label,
        connections,
        ...(rate === undefined ? {} : { connectionRate: rate }),
        establishedConnections: peak.established,
        serverConnections: peak.held,
      });
      process.stderr.write(`[bench]   ${peak.established} connections established, ${peak.held} held open by the server process\n`);
    }
  }

  console.log(`\nExact-repeat lookups over HTTP keep-alive, ${seconds}s each`);
  console.log(
    formatTable(
      ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'errors', 'timeouts', 'non-2xx', 'conns held'],
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
      ]),
    ),
  );
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
