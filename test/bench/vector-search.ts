/**
 * Vector search of one scope at 100k and 1M vectors: the exact scan (a VectorIndex that never builds a graph, the reference) next
 * to the HNSW graph of the embedded mode (VectorIndex on usearch) in the same run, and Milvus of the
 * local stack (MilvusVectorStore on the stack's Milvus 2.3 standalone) at the sizes up to --milvus-max.
 * Reports build time, memory (RSS and V8 heap growth over the build), p50/p99 search latency of one
 * query at a time, and recall@1 / recall@10 against the exact scan.
 *
 * Data: normalized vectors from a seeded mixture of clusters on the sphere (Zipf-sized topics, see
 * ClusteredVectors), queries that are perturbations of stored points (cosine about 0.94). Usage:
 *   npm run bench:vectors -- [--sizes 100000,1000000] [--queries 1000] [--dims 384] [--clusters N]
 *     [--m 16] [--ef-construction 128] [--ef-search 64[,128,...]] [--threads 0] [--seed 42]
 *     [--milvus-max 100000] [--milvus-queries 200]
 * Milvus runs only the first --milvus-queries queries; its build time lasts until the rows are searchable.
 * The exact index stays alive while the graph is built, so that the graph's memory is not counted in
 * memory the exact index freed.
 */
import { parseArgs } from 'node:util';
import type { VectorMatch, VectorQuery, VectorRecord } from '@llm-cache/core';
import { VectorIndex } from '@llm-cache/storage';
import { MilvusVectorStore } from '@llm-cache/storage/distributed';
import { ClusteredVectors, dropMilvusCollection, requireServer, STACK, uniqueName } from '@llm-cache/testing';
import { formatTable, percentile, writeResults } from './lib.ts';
import { writePlot } from './plot.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100000,1000000' },
    queries: { type: 'string', default: '1000' },
    dims: { type: 'string', default: '384' },
    clusters: { type: 'string' },
    m: { type: 'string', default: '16' },
    'ef-construction': { type: 'string', default: '128' },
    'ef-search': { type: 'string', default: '64' },
    threads: { type: 'string', default: '0' },
    'milvus-max': { type: 'string', default: '100000' },
    'milvus-queries': { type: 'string', default: '200' },
    seed: { type: 'string', default: '42' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const queryCount = Number(values.queries);
const dims = Number(values.dims);
/** Each value is measured on the same graph (the search's candidate list is set per query). */
const efSearches = values['ef-search'].split(',').map(Number);
const graph = {
  m: Number(values.m),
  efConstruction: Number(values['ef-construction']),
  efSearch: Math.min(...efSearches),
  buildThreads: Number(values.threads),
};
const milvusMax = Number(values['milvus-max']);
const milvusQueries = Number(values['milvus-queries']);
const seed = Number(values.seed);
const K = 10;
const WARMUP = 20;
const SCOPE = { scopeKey: 'bench', embeddingModel: 'bench-model' };

interface Row {
  size: number;
  method: string;
  buildSeconds: number;
  /** Growth over the build; undefined where the index lives in another process. */
  rssMb: number | undefined;
  heapMb: number | undefined;
  p50Ms: number;
  p99Ms: number;
  recallAt1: number;
  recallAt10: number;
}

const log = (line: string): void => void process.stderr.write(`[vectors] ${line}\n`);
const mb = (bytes: number): number => bytes / 1024 / 1024;
const collect = (): void => (globalThis as { gc?: () => void }).gc?.();

function memory(): { rss: number; heap: number } {
  collect();
  const usage = process.memoryUsage();
  return { rss: usage.rss, heap: usage.heapUsed };
}

/**
 * Runs the queries one at a time, after a few unmeasured ones (JIT, caches); returns the latencies
 * (sorted) and the ids each query got.
 */
async function runQueries(
  name: string,
  queries: VectorQuery[],
  search: (query: VectorQuery) => VectorMatch[] | Promise<VectorMatch[]>,
): Promise<{ latencies: number[]; ids: string[][] }> {
  for (const query of queries.slice(0, WARMUP)) await search({ ...query, vector: query.vector.map((v) => -v) });
  const latencies: number[] = [];
  const ids: string[][] = [];
  let reported = performance.now();
  for (const [q, query] of queries.entries()) {
    const started = performance.now();
    const matches = await search(query);
    latencies.push(performance.now() - started);
    ids.push(matches.map((m) => m.id));
    if (performance.now() - reported > 10_000) {
      log(`${name}: ${q + 1}/${queries.length} queries`);
      reported = performance.now();
    }
  }
  return { latencies: latencies.sort((a, b) => a - b), ids };
}

function recall(got: string[][], truth: string[][], at: number): number {
  let sum = 0;
  for (const [q, expected] of truth.entries()) {
    const top = expected.slice(0, at);
    const found = new Set((got[q] ?? []).slice(0, at));
    sum += top.length === 0 ? 1 : top.filter((id) => found.has(id)).length / top.length;
  }
  return sum / truth.length;
}

function row(
  size: number,
  method: string,
  build: { seconds: number; rss?: number; heap?: number },
  run: { latencies: number[]; ids: string[][] },
  truth: string[][],
): Row {
  return {
    size,
    method,
    buildSeconds: build.seconds,
    rssMb: build.rss === undefined ? undefined : mb(build.rss),
    heapMb: build.heap === undefined ? undefined : mb(build.heap),
    p50Ms: percentile(run.latencies, 50),
    p99Ms: percentile(run.latencies, 99),
    recallAt1: recall(run.ids, truth, 1),
    recallAt10: recall(run.ids, truth, K),
  };
}

/** Inserts every record, reporting progress; returns the seconds taken. */
function insertAll(name: string, records: VectorRecord[], upsert: (record: VectorRecord) => void): number {
  const started = performance.now();
  const step = Math.max(1, Math.floor(records.length / 10));
  for (const [i, record] of records.entries()) {
    upsert(record);
    if ((i + 1) % step === 0) log(`${name}: inserted ${i + 1}/${records.length}`);
  }
  return (performance.now() - started) / 1000;
}

async function measureExact(
  size: number,
  records: VectorRecord[],
  queries: VectorQuery[],
): Promise<{ row: Row; truth: string[][]; index: VectorIndex }> {
  const before = memory();
  const index = new VectorIndex({ annAbove: 0 });
  const seconds = insertAll('exact scan', records, (record) => index.upsert(record));
  const after = memory();
  const run = await runQueries('exact scan', queries, (query) => index.search(query));
  const build = { seconds, rss: after.rss - before.rss, heap: after.heap - before.heap };
  return { row: row(size, 'exact scan', build, run, run.ids), truth: run.ids, index };
}

async function measureGraph(size: number, records: VectorRecord[], queries: VectorQuery[], truth: string[][]): Promise<Row[]> {
  const before = memory();
  const index = new VectorIndex({ annAbove: 1, ...graph });
  const started = performance.now();
  insertAll('HNSW', records, (record) => index.upsert(record));
  const progress = setInterval(() => {
    const stats = index.scopeStats(SCOPE.scopeKey, SCOPE.embeddingModel);
    const elapsed = (performance.now() - started) / 1000;
    log(`HNSW: graph holds ${stats.graph ?? 0}/${stats.vectors} after ${elapsed.toFixed(0)} s`);
  }, 15_000);
  await index.settled();
  clearInterval(progress);
  const seconds = (performance.now() - started) / 1000;
  const after = memory();
  log(`HNSW: built in ${seconds.toFixed(1)} s`);
  const rows: Row[] = [];
  for (const efSearch of efSearches) {
    index.setEfSearch(efSearch);
    const name = efSearches.length > 1 ? `HNSW ef=${efSearch}` : 'HNSW (usearch)';
    const run = await runQueries(name, queries, (query) => index.search(query));
    rows.push(row(size, name, { seconds, rss: after.rss - before.rss, heap: after.heap - before.heap }, run, truth));
  }
  if (index.searches.fallback > 0) log(`HNSW: ${index.searches.fallback} searches fell back to the exact scan`);
  index.close();
  return rows;
}

async function measureMilvus(size: number, records: VectorRecord[], queries: VectorQuery[], truth: string[][]): Promise<Row> {
  await requireServer('Milvus', STACK.milvusAddress);
  const collection = uniqueName('llmcache_bench_');
  const store = await MilvusVectorStore.create({ address: STACK.milvusAddress, collection, dimensions: dims });
  try {
    const started = performance.now();
    const batch = 5000;
    for (let i = 0; i < records.length; i += batch) {
      await store.upsert(records.slice(i, i + batch));
      if ((i / batch) % 4 === 3 || i + batch >= records.length)
        log(`Milvus: inserted ${Math.min(i + batch, records.length)}/${records.length}`);
    }
    await store.whenSearchable();
    const seconds = (performance.now() - started) / 1000;
    const run = await runQueries('Milvus', queries.slice(0, milvusQueries), (query) => store.search(query));
    return row(size, 'Milvus (stack)', { seconds }, run, truth.slice(0, milvusQueries));
  } finally {
    await store.close();
    await dropMilvusCollection(collection);
  }
}

function printRows(rows: Row[]): void {
  console.log('\nVector search, one scope, one query at a time');
  const num = (value: number | undefined, digits: number): string => (value === undefined ? '-' : value.toFixed(digits));
  console.log(
    formatTable(
      ['vectors', 'method', 'build s', 'RSS MB', 'heap MB', 'p50 ms', 'p99 ms', 'recall@1', 'recall@10'],
      rows.map((r) => [
        String(r.size),
        r.method,
        num(r.buildSeconds, 1),
        num(r.rssMb, 0),
        num(r.heapMb, 0),
        num(r.p50Ms, 3),
        num(r.p99Ms, 3),
        num(r.recallAt1, 3),
        num(r.recallAt10, 3),
      ]),
    ),
  );
}

try {
  if (!(globalThis as { gc?: unknown }).gc) log('run node with --expose-gc for steadier memory figures');
  log(
    `graph: M ${graph.m}, efConstruction ${graph.efConstruction}, efSearch ${efSearches.join(', ')}, build threads ${graph.buildThreads || 'all'}`,
  );
  const rows: Row[] = [];
  for (const size of sizes) {
    const clusters = Number(values.clusters ?? Math.max(10, Math.round(size / 200)));
    log(`${size} vectors of ${dims} dimensions in ${clusters} clusters, ${queryCount} queries`);
    const data = new ClusteredVectors({ dimensions: dims, clusters, seed });
    const points = data.points(size);
    const records: VectorRecord[] = Array.from({ length: size }, (_, i) => ({
      id: `v${i}`,
      ...SCOPE,
      vector: points.subarray(i * dims, (i + 1) * dims),
      createdAt: 0,
      expiresAt: null,
    }));
    const queries: VectorQuery[] = Array.from({ length: queryCount }, () => {
      const i = Math.floor(data.uniform() * size);
      return { ...SCOPE, vector: data.near(points.subarray(i * dims, (i + 1) * dims)), k: K, now: 1 };
    });
    let exact: Awaited<ReturnType<typeof measureExact>> | undefined = await measureExact(size, records, queries);
    rows.push(exact.row);
    rows.push(...(await measureGraph(size, records, queries, exact.truth)));
    const { truth } = exact;
    exact = undefined;
    if (size <= milvusMax) rows.push(await measureMilvus(size, records, queries, truth));
    printRows(rows.filter((r) => r.size === size));
  }
  printRows(rows);
  writeResults('vector-search.json', { dims, queries: queryCount, k: K, graph, seed, rows });
  const series = (method: string, field: 'p50Ms' | 'p99Ms'): { name: string; points: Array<[number, number]> } => ({
    name: `${method} ${field === 'p50Ms' ? 'p50' : 'p99'}`,
    points: rows.filter((r) => r.method === method).map((r) => [r.size, r[field]]),
  });
  const methods = [...new Set(rows.map((r) => r.method))];
  await writePlot('vector-search.svg', {
    title: `Search latency of one scope (${dims} dimensions, k=${K})`,
    xLabel: 'vectors in the scope',
    yLabel: 'ms per query',
    logY: true,
    series: methods.flatMap((method) => [series(method, 'p50Ms'), series(method, 'p99Ms')]),
  });
} catch (error) {
  console.error(error);
  process.exitCode = 1;
}
