import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { VectorQuery, VectorRecord } from '@llm-cache/core';
import { openSqlite, SqliteVectorStore, VectorIndex, type VectorIndexOptions } from '@llm-cache/storage';
import { ClusteredVectors } from '@llm-cache/testing';

const DIMS = 64;
const COUNT = 4000;
const OPTIONS: Partial<VectorIndexOptions> = { annAbove: 1000, m: 16, efConstruction: 128, efSearch: 64 };

interface Fixture {
  data: ClusteredVectors;
  points: Float32Array;
  records: VectorRecord[];
}

function fixture(seed = 7, scopeKey = 's1', embeddingModel = 'm1'): Fixture {
  const data = new ClusteredVectors({ dimensions: DIMS, clusters: 40, seed });
  const points = data.points(COUNT);
  const records = Array.from({ length: COUNT }, (_, i) => ({
    id: `${scopeKey}-${embeddingModel}-${i}`,
    scopeKey,
    embeddingModel,
    vector: points.subarray(i * DIMS, (i + 1) * DIMS),
    createdAt: i,
    expiresAt: null,
  }));
  return { data, points, records };
}

/** The exact reference: an index that never builds a graph, so every search is a full scan. */
const exactIndex = (): VectorIndex => new VectorIndex({ annAbove: 0 });

/** A graph index and the exact reference holding the same records, the graph built. */
async function pair(t: TestContext, records: readonly VectorRecord[]): Promise<{ index: VectorIndex; reference: VectorIndex }> {
  const index = new VectorIndex(OPTIONS);
  t.after(() => index.close());
  const reference = exactIndex();
  for (const record of records) {
    index.upsert(record);
    reference.upsert(record);
  }
  await index.settled();
  return { index, reference };
}

const queryNear = (f: Fixture, i: number, extra: Partial<VectorQuery> = {}): VectorQuery => ({
  scopeKey: 's1',
  embeddingModel: 'm1',
  vector: f.data.near(f.points.subarray(i * DIMS, (i + 1) * DIMS)),
  k: 10,
  now: 2000,
  ...extra,
});

/** Share of queries whose top-1 agrees, and mean recall@10 of the graph against the scan. */
function agreement(index: VectorIndex, reference: VectorIndex, queries: VectorQuery[]): { top1: number; recall10: number } {
  let top1 = 0;
  let recall = 0;
  for (const query of queries) {
    const got = index.search(query).map((m) => m.id);
    const expected = reference.search(query).map((m) => m.id);
    if (got[0] === expected[0]) top1++;
    recall += expected.length === 0 ? 1 : expected.filter((id) => got.includes(id)).length / expected.length;
  }
  return { top1: top1 / queries.length, recall10: recall / queries.length };
}

test('a large scope is searched through the graph and agrees with the exact scan on clustered data', async (t) => {
  const f = fixture();
  const { index, reference } = await pair(t, f.records);
  assert.deepEqual(index.scopeStats('s1', 'm1'), { vectors: COUNT, graph: COUNT, building: false });
  const queries = Array.from({ length: 200 }, (_, q) => queryNear(f, (q * 37) % COUNT));
  const { top1, recall10 } = agreement(index, reference, queries);
  assert.ok(top1 >= 0.95, `top-1 agreement ${top1}`);
  assert.ok(recall10 >= 0.9, `recall@10 ${recall10}`);
  assert.equal(index.searches.graph, 200, 'every search went through the graph');
  assert.equal(index.searches.fallback, 0);
  const [best] = index.search(queries[0] as VectorQuery);
  const [exact] = reference.search(queries[0] as VectorQuery);
  assert.ok(best && exact && Math.abs(best.score - exact.score) < 1e-6, 'scores are the exact cosine');
});

test('a small scope keeps the exact scan; the graph comes past annAbove and goes below half of it', async (t) => {
  const f = fixture();
  const index = new VectorIndex(OPTIONS);
  t.after(() => index.close());
  for (const record of f.records.slice(0, 1000)) index.upsert(record);
  assert.equal(index.scopeStats('s1', 'm1').graph, undefined);
  index.upsert(f.records[1000] as VectorRecord);
  assert.equal(index.scopeStats('s1', 'm1').building, true);
  index.search(queryNear(f, 3));
  assert.equal(index.searches.exact, 1, 'the scan answers while the graph is built');
  await index.settled();
  assert.deepEqual(index.scopeStats('s1', 'm1'), { vectors: 1001, graph: 1001, building: false });
  index.search(queryNear(f, 3));
  assert.equal(index.searches.graph, 1);
  for (const record of f.records.slice(0, 502)) index.remove(record.id);
  assert.deepEqual(index.scopeStats('s1', 'm1'), { vectors: 499, graph: undefined, building: false });
  const query = queryNear(f, 700);
  assert.equal(index.search(query)[0]?.id, f.records[700]?.id);
  assert.equal(index.searches.exact, 2);
});

test('deleted vectors are never returned and the rest still agree', async (t) => {
  const f = fixture();
  const { index, reference } = await pair(t, f.records);
  const deleted = new Set<string>();
  for (let i = 0; i < COUNT; i += 10) {
    const id = f.records[i]?.id as string;
    index.remove(id);
    reference.remove(id);
    deleted.add(id);
  }
  assert.equal(index.size, COUNT - deleted.size);
  assert.equal(index.scopeStats('s1', 'm1').graph, COUNT - deleted.size);
  const nearDeleted = Array.from({ length: 100 }, (_, q) => queryNear(f, q * 10));
  for (const query of nearDeleted) assert.ok(!index.search(query).some((m) => deleted.has(m.id)));
  const { top1 } = agreement(index, reference, nearDeleted);
  assert.ok(top1 >= 0.95, `top-1 agreement ${top1}`);
  assert.equal(index.searches.fallback, 0);
});

test('an upsert replaces the vector in the graph', async (t) => {
  const f = fixture();
  const { index } = await pair(t, f.records);
  const elsewhere = new ClusteredVectors({ dimensions: DIMS, clusters: 5, seed: 99 });
  const moved = elsewhere.points(50);
  for (let j = 0; j < 50; j++) {
    const record = f.records[j * 40] as VectorRecord;
    index.upsert({ ...record, vector: moved.subarray(j * DIMS, (j + 1) * DIMS) });
  }
  assert.equal(index.size, COUNT);
  assert.equal(index.scopeStats('s1', 'm1').graph, COUNT);
  for (let j = 0; j < 50; j++) {
    const id = f.records[j * 40]?.id;
    const [atNew] = index.search({ ...queryNear(f, 0), vector: moved.subarray(j * DIMS, (j + 1) * DIMS), k: 1 });
    assert.equal(atNew?.id, id);
    assert.ok((atNew?.score ?? 0) > 0.999);
    const atOld = index.search({ ...queryNear(f, j * 40), k: 1 });
    assert.notEqual(atOld[0]?.id, id, 'the old vector is gone');
  }
});

test('expired and too old entries are filtered out of the graph candidates, with the exact scan as last resort', async (t) => {
  const f = fixture();
  const records = f.records.map((r, i) => ({ ...r, expiresAt: i % 5 === 0 ? null : 1500 }));
  const { index, reference } = await pair(t, records);
  const queries = Array.from({ length: 100 }, (_, q) => queryNear(f, q * 31));
  for (const query of queries) {
    for (const match of index.search(query)) assert.equal(Number(match.id.split('-').pop()) % 5, 0, `${match.id} is expired`);
  }
  const { top1 } = agreement(index, reference, queries);
  assert.ok(top1 >= 0.95, `top-1 agreement ${top1}`);
  assert.ok(index.searches.graph > 0);

  const newest = queries.map((query) => ({ ...query, minCreatedAt: COUNT - 50 }));
  for (const query of newest) {
    assert.deepEqual(index.search(query), reference.search(query), 'too few candidates survive: the exact scan answers');
  }
  assert.ok(index.searches.fallback >= newest.length / 2, `fallbacks ${index.searches.fallback}`);
});

test('scopes and embedding models never mix, each with its own graph', async (t) => {
  const a = fixture(7, 's1', 'm1');
  const b = fixture(7, 's2', 'm1');
  const c = fixture(7, 's1', 'm2');
  const { index } = await pair(t, [...a.records, ...b.records, ...c.records]);
  for (const [scopeKey, embeddingModel] of [
    ['s1', 'm1'],
    ['s2', 'm1'],
    ['s1', 'm2'],
  ] as const) {
    assert.equal(index.scopeStats(scopeKey, embeddingModel).graph, COUNT);
    for (let q = 0; q < 50; q++) {
      const matches = index.search({ ...queryNear(a, q * 13), scopeKey, embeddingModel });
      assert.equal(matches.length, 10);
      for (const match of matches) assert.ok(match.id.startsWith(`${scopeKey}-${embeddingModel}-`), match.id);
    }
  }
  assert.equal(index.searches.fallback, 0);
  assert.deepEqual(index.search({ ...queryNear(a, 0), scopeKey: 's3' }), []);
});

test('the store rebuilds the graph from SQLite at start, with replacements and deletes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vec-ann-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'db.sqlite');
  const f = fixture();
  const db = openSqlite(file);
  const store = new SqliteVectorStore(db, OPTIONS);
  await store.upsert(f.records);
  const replacement = new ClusteredVectors({ dimensions: DIMS, clusters: 1, seed: 5 }).points(1);
  await store.upsert([{ ...(f.records[1] as VectorRecord), vector: replacement }]);
  await store.delete([f.records[2]?.id as string]);
  await store.indexed();
  await store.close();
  db.close();

  const reopened = openSqlite(file);
  t.after(() => reopened.close());
  const rebuilt = new SqliteVectorStore(reopened, OPTIONS);
  t.after(() => rebuilt.close());
  await rebuilt.indexed();
  assert.equal(await rebuilt.count(), COUNT - 1);
  const [top] = await rebuilt.search({ ...queryNear(f, 0), vector: replacement, k: 1 });
  assert.equal(top?.id, f.records[1]?.id);
  assert.ok(!(await rebuilt.search(queryNear(f, 2))).some((m) => m.id === f.records[2]?.id));
  const reference = exactIndex();
  for (const record of f.records) if (record.id !== f.records[2]?.id) reference.upsert(record);
  reference.upsert({ ...(f.records[1] as VectorRecord), vector: replacement });
  let agree = 0;
  for (let q = 0; q < 100; q++) {
    const query = queryNear(f, q * 17 + 5);
    if ((await rebuilt.search(query))[0]?.id === reference.search(query)[0]?.id) agree++;
  }
  assert.ok(agree >= 95, `top-1 agreement ${agree}/100`);
});
