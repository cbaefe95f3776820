/**
 * Scale-out of the distributed pipeline: the same semantic lookups through layouts with 1 and 2
 * embedders and matchers (each its own process, sharing topics of `--partitions` partitions), one
 * layout after the other in one run, and CPU time per lookup of every process and of the stack's
 * servers. The entries are stored once (question a of every `--stride`-th pair of qqp-dev.jsonl);
 * each layout gets fresh topics and consumer groups on the same stores and a fresh gateway, waits
 * until its groups share the partitions, warms up, measures every process idle for `--idle-seconds`
 * (the part of its CPU that does not grow with load), then looks up question b of the pairs in order
 * (texts new to its gateway: each is embedded and searched) at fixed concurrency for `--seconds`.
 * A last phase per layout repeats `--exact-texts` stored prompts: exact-tier hits, which the gateway
 * answers from memory. Needs the local stack (npm run stack:up). Usage:
 *   npm run bench:scale -- [--layouts 1+1,2+1,1+2,2+2] [--seconds 30] [--connections 16] [--entries 1000] [--stride 2]
 *                          [--partitions 4] [--warm-up 10] [--idle-seconds 5] [--exact-seconds 10] [--exact-texts 64] [--data ...]
 */
import { parseArgs } from 'node:util';
import { TOPICS } from '@llm-cache/codec';
import { dropKafkaPrefix, STACK, uniqueName } from '@llm-cache/testing';
import { postJson, type CacheProcess } from '../helpers/cache-process.ts';
import { dropDistributedData, freshDistributedEnv, startDistributedCluster } from '../helpers/distributed-cluster.ts';
import { waitForGroups } from './kafka-groups.ts';
import { runBenchmark, runLoad, storeEntries, writeResults } from './lib.ts';
import { DEFAULT_PAIRS_FILE, distinctPairs } from './qqp.ts';
import { plotScaleOut, printScaleOut, type Measured, type ScaleRow } from './scale-out-report.ts';
import { listenerPid, machineCpuSeconds, treeCpuSeconds } from './proc.ts';

const { values } = parseArgs({
  options: {
    layouts: { type: 'string', default: '1+1,2+1,1+2,2+2' },
    seconds: { type: 'string', default: '30' },
    connections: { type: 'string', default: '16' },
    entries: { type: 'string', default: '1000' },
    stride: { type: 'string', default: '2' },
    partitions: { type: 'string', default: '4' },
    'warm-up': { type: 'string', default: '10' },
    'idle-seconds': { type: 'string', default: '5' },
    'exact-seconds': { type: 'string', default: '10' },
    'exact-texts': { type: 'string', default: '64' },
    data: { type: 'string', default: DEFAULT_PAIRS_FILE },
  },
});
const layouts = values.layouts.split(',').map((text) => {
  const match = /^(\d+)\+(\d+)$/.exec(text.trim());
  if (!match) throw new Error(`--layouts takes embedders+matchers pairs separated by commas (1+1,2+2), not "${text}"`);
  return { name: text.trim(), embedders: Number(match[1]), matchers: Number(match[2]) };
});
const [seconds, connections, entries, stride, partitions] = [
  values.seconds,
  values.connections,
  values.entries,
  values.stride,
  values.partitions,
].map(Number) as [number, number, number, number, number];
const [warmUpSeconds, idleSeconds, exactSeconds, exactTexts] = [
  values['warm-up'],
  values['idle-seconds'],
  values['exact-seconds'],
  values['exact-texts'],
].map(Number) as [number, number, number, number];
const most = Math.max(...layouts.flatMap((l) => [l.embedders, l.matchers]));
if (partitions < most) throw new Error(`--partitions ${partitions} leaves instances idle: a layout runs ${most} of one service`);
const STORE_CONCURRENCY = 16;
const LOG = 'scale';

/** The local stack's servers by the port they listen on (whatever started them), for CPU accounting. */
function stackPids(): Map<string, number> {
  const port = (address: string): number => Number(/:(\d+)(?:\/|$)/.exec(address.split(',')[0] ?? '')?.[1]);
  const servers: Array<[string, string]> = [
    ['kafka', STACK.kafkaBrokers],
    ['registry', STACK.registryUrl],
    ['milvus', STACK.milvusAddress],
    ['mongo', STACK.mongoUrl],
    ['s3', STACK.s3Endpoint],
  ];
  const pids = new Map<string, number>();
  for (const [name, address] of servers) {
    const pid = listenerPid(port(address));
    if (pid === undefined) process.stderr.write(`[${LOG}] no process found listening for ${name} (${address}): its CPU is not counted\n`);
    else pids.set(name, pid);
  }
  return pids;
}

/** Runs `work` and measures the CPU seconds each process (and the rest of the machine) used meanwhile. */
async function metered<T>(pids: Map<string, number>, work: () => Promise<T>): Promise<{ result: T } & Measured> {
  const before = treeCpuSeconds(pids);
  const self = process.cpuUsage();
  const machine = machineCpuSeconds();
  const started = performance.now();
  const result = await work();
  const wall = (performance.now() - started) / 1000;
  const after = treeCpuSeconds(pids);
  const cpuSeconds: Record<string, number> = {};
  for (const [name, used] of after) cpuSeconds[name] = used - (before.get(name) ?? NaN);
  const own = process.cpuUsage(self);
  cpuSeconds['load generator'] = (own.user + own.system) / 1e6;
  const busy = machineCpuSeconds().busy - machine.busy;
  const counted = Object.values(cpuSeconds).reduce((sum, s) => sum + (Number.isFinite(s) ? s : 0), 0);
  cpuSeconds['rest of machine'] = Math.max(0, busy - counted);
  return { result, wallSeconds: wall, cpuSeconds, machineBusySeconds: busy };
}

await runBenchmark(async (cleanup) => {
  // Question b of each pair is looked up, in order; question a of every stride-th pair is stored.
  const pairs = await distinctPairs(values.data, 40_000);
  const stored = pairs.filter((_, i) => i % stride === 0 && i / stride < entries).map((pair) => pair.a);
  const lookups = pairs.map((pair) => pair.b);
  // Warm-up texts come from the far end, so the measured lookups (from the start) are new to the gateway.
  const warmUp = lookups.slice().reverse();
  if (stored.length < entries) throw new Error(`${values.data} has ${pairs.length} usable pairs: too few for ${entries} entries`);
  const data = { ...freshDistributedEnv(), LLMCACHE_LOG_LEVEL: 'warn', LLMCACHE_KAFKA_PARTITIONS: String(partitions) };
  cleanup.add(() => dropDistributedData(data));
  const stackServers = stackPids();

  const rows: ScaleRow[] = [];
  let stores: { perSecond: number; failed: Record<string, number> } | undefined;
  for (const layout of layouts) {
    const prefix = `${uniqueName('scale')}.`;
    const env = { ...data, LLMCACHE_KAFKA_TOPIC_PREFIX: prefix };
    process.stderr.write(
      `[${LOG}] ${layout.name}: starting ${layout.embedders} embedder(s), ${layout.matchers} matcher(s), topics ${prefix}*\n`,
    );
    const steps: Array<() => unknown> = [];
    const stop = async (): Promise<void> => {
      for (const step of steps.splice(0).reverse()) await step();
    };
    cleanup.add(stop);
    // Its topics go even if the cluster fails to start: the services that did start created them.
    steps.push(() => dropKafkaPrefix(prefix));
    const cluster = await startDistributedCluster(env, { gateways: 1, matchers: layout.matchers });
    steps.push(() => cluster.stop());
    cleanup.children(() => [...cluster.processes.values()].map((p) => p.child));
    await Promise.all(Array.from({ length: layout.embedders - 1 }, (_, i) => cluster.start(`embedder-${i + 2}`)));
    const url = cluster.urls[0] as string;
    const lookupUrl = `${url}/v1/cache/lookup`;
    const gateway = cluster.processes.get('gateway-1') as CacheProcess;

    if (stores === undefined) {
      process.stderr.write(`[${LOG}] storing ${stored.length} entries (once, for every layout)\n`);
      stores = await storeEntries(url, stored, STORE_CONCURRENCY, LOG);
    }
    const assigned = await waitForGroups([
      { group: `${prefix}llmcache-embedder`, topic: `${prefix}${TOPICS.requests}`, members: layout.embedders },
      { group: `${prefix}llmcache-matcher`, topic: `${prefix}${TOPICS.embedded}`, members: layout.matchers },
    ]);
    const partitionsHeld = {
      embedders: assigned[`${prefix}llmcache-embedder`] ?? [],
      matchers: assigned[`${prefix}llmcache-matcher`] ?? [],
    };
    process.stderr.write(`[${LOG}] ${layout.name}: partitions held ${JSON.stringify(partitionsHeld)}\n`);
    let warmedUp = 0;
    if (warmUpSeconds > 0) {
      const bodies = warmUp.map((prompt) => JSON.stringify({ prompt }));
      warmedUp = (await runLoad({ name: `${layout.name}, warm-up`, url: lookupUrl, connections, durationSeconds: warmUpSeconds, bodies }))
        .requests;
    }

    const pids = new Map([...[...cluster.processes].map(([name, p]): [string, number] => [name, p.child.pid as number]), ...stackServers]);
    // What every process uses with no load (consumers polling, timers), measured after the warm-up.
    const idle = await metered(pids, () => new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000)));
    /** Looks up `prompts` in turn for `durationSeconds`, counting hits by tier, with every process's CPU meanwhile. */
    const lookUp = async (phase: string, durationSeconds: number, prompts: string[]) => {
      const hits = { semantic: 0, exact: 0 };
      const run = await metered(pids, () =>
        runLoad({
          name: `${layout.name}, ${phase}`,
          url: lookupUrl,
          connections,
          durationSeconds,
          bodies: prompts.map((prompt) => JSON.stringify({ prompt })),
          onResponse: (status, body) => {
            const answer = status === 200 ? (JSON.parse(body) as { hit?: boolean; tier?: string }) : {};
            if (answer.hit === true) hits[answer.tier === 'exact' ? 'exact' : 'semantic'] += 1;
          },
        }),
      );
      return { ...run, hits };
    };
    const timedOutBefore = gateway.output().split('lookup timed out').length;
    const semantic = await lookUp('semantic lookups', seconds, lookups);
    const timedOut = gateway.output().split('lookup timed out').length - timedOutBefore;
    if (semantic.result.requests + warmedUp > lookups.length) {
      process.stderr.write(`[${LOG}] ${layout.name}: more lookups than distinct texts: some were repeats\n`);
    }
    let exact: ScaleRow['exact'];
    if (exactSeconds > 0) {
      // Each stored prompt looked up once is in the gateway's exact tier (stored through it, or a semantic hit).
      const repeats = stored.slice(0, exactTexts);
      for (const prompt of repeats) await postJson(lookupUrl, { prompt });
      exact = await lookUp('exact repeats', exactSeconds, repeats);
    }
    rows.push({
      layout: layout.name,
      embedders: layout.embedders,
      matchers: layout.matchers,
      partitionsHeld,
      idle,
      semantic: { ...semantic, hits: { ...semantic.hits, timedOut } },
      ...(exact ? { exact } : {}),
    });
    await stop();
  }

  const settings = {
    data: values.data,
    seconds,
    connections,
    entries: stored.length,
    stride,
    partitions,
    warmUpSeconds,
    idleSeconds,
    exactSeconds,
  };
  printScaleOut(rows, settings, stores);
  writeResults('scale-out.json', { ...settings, stores, rows });
  await plotScaleOut(rows);
});
