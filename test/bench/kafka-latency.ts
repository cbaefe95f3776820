/**
 * End-to-end semantic-hit latency through Kafka (gateway -> embedder -> matcher -> gateway) at fixed
 * request rates, against the same lookups on the embedded mode in the same run. Every lookup is a
 * text the gateway has not seen (so no exact-tier answer) that hits a stored entry.
 * Needs the local stack (npm run stack:up). Usage:
 *   npm run bench:kafka -- [--rates 10,25,50] [--seconds 10] [--entries 200]
 */
import { parseArgs } from 'node:util';
import { postJson, startCacheProcess, tempDir } from '../helpers/cache-process.ts';
import { freshDistributedEnv, startDistributedCluster } from '../helpers/distributed-cluster.ts';
import { percentile, runBenchmark, writeResults } from './lib.ts';
import { writePlot } from './plot.ts';

const { values } = parseArgs({
  options: {
    rates: { type: 'string', default: '10,25,50' },
    seconds: { type: 'string', default: '10' },
    entries: { type: 'string', default: '200' },
  },
});
const rates = values.rates.split(',').map(Number);
const seconds = Number(values.seconds);
const TOPICS = Number(values.entries);

async function measure(
  url: string,
  rate: number,
  offset: number,
): Promise<{ rate: number; sent: number; hits: number; p50: number; p99: number; max: number }> {
  const latencies: number[] = [];
  let hits = 0;
  const total = rate * seconds;
  const pending: Array<Promise<void>> = [];
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const n = (offset + i) % TOPICS;
    const t0 = performance.now();
    pending.push(
      postJson(`${url}/v1/cache/lookup`, {
        prompt: `Could you tell me about subject ${n}: the geography of region ${n} (variant ${offset + i})`,
      }).then((r) => {
        latencies.push(performance.now() - t0);
        if (r.body?.hit) hits++;
      }),
    );
  }
  await Promise.all(pending);
  latencies.sort((a, b) => a - b);
  return {
    rate,
    sent: total,
    hits,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? NaN,
  };
}

async function seed(url: string): Promise<void> {
  for (let n = 0; n < TOPICS; n++) {
    await postJson(`${url}/v1/cache/entries?wait=true`, {
      prompt: `Tell me about subject ${n}: the geography of region ${n}`,
      response: `answer ${n}`,
    });
  }
}

await runBenchmark(async (cleanup) => {
  const rows: Array<{ mode: string; rate: number; sent: number; hits: number; p50: number; p99: number; max: number }> = [];
  process.stderr.write('[bench] starting the embedded process\n');
  const embedded = await startCacheProcess({
    LLMCACHE_DATA_DIR: tempDir({ after: (fn) => cleanup.add(fn) }),
    LLMCACHE_LOG_LEVEL: 'warn',
  });
  cleanup.add(() => embedded.stop());
  cleanup.children(() => [embedded.child]);
  process.stderr.write('[bench] starting the distributed services on the local stack\n');
  const cluster = await startDistributedCluster({ ...freshDistributedEnv(), LLMCACHE_LOG_LEVEL: 'warn' });
  cleanup.add(() => cluster.destroy());
  cleanup.children(() => [...cluster.processes.values()].map((p) => p.child));
  for (const [mode, url] of [
    ['embedded', embedded.url],
    ['distributed (Kafka)', cluster.urls[0] as string],
  ] as const) {
    process.stderr.write(`[bench] ${mode}: storing ${TOPICS} entries\n`);
    await seed(url);
    let offset = 0;
    for (const rate of rates) {
      process.stderr.write(`[bench] ${mode}: ${rate} lookups/s for ${seconds}s\n`);
      rows.push({ mode, ...(await measure(url, rate, offset)) });
      offset += rate * seconds;
    }
  }
  console.log(`\nSemantic hits end to end, distinct texts at fixed rates, ${seconds}s each`);
  console.log('mode                   rate/s   sent   hits   p50 ms   p99 ms   max ms');
  for (const r of rows) {
    console.log(
      `${r.mode.padEnd(22)} ${String(r.rate).padStart(6)} ${String(r.sent).padStart(6)} ${String(r.hits).padStart(6)} ${r.p50.toFixed(1).padStart(8)} ${r.p99.toFixed(1).padStart(8)} ${r.max.toFixed(1).padStart(8)}`,
    );
  }
  writeResults('kafka-latency.json', { seconds, rows });
  await writePlot('kafka-latency.svg', {
    title: 'Semantic hits end to end: embedded vs distributed (Kafka)',
    xLabel: 'lookups/s sent',
    yLabel: 'latency (ms, log scale)',
    logY: true,
    series: [...new Set(rows.map((r) => r.mode))].flatMap((mode) =>
      (['p50', 'p99'] as const).map((stat) => ({
        name: `${mode} ${stat}`,
        points: rows.filter((r) => r.mode === mode).map((r): [number, number] => [r.rate, r[stat]]),
      })),
    ),
  });
});
