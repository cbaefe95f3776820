import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { openSqlite, SqliteVectorStore } from '@llm-cache/storage';
import { unit, vectorRecord } from './helpers.ts';

const record = vectorRecord;

function tempDb(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'vec-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'db.sqlite');
}

test('search ranks by cosine within the scope and model only', async (t) => {
  const db = openSqlite(tempDb(t));
  t.after(() => db.close());
  const store = new SqliteVectorStore(db);
  await store.upsert([
    record('a', [1, 0, 0]),
    record('b', [0.9, 0.1, 0]),
    record('c', [0, 1, 0]),
    record('other-scope', [1, 0, 0], { scopeKey: 's2' }),
    record('other-model', [1, 0, 0], { embeddingModel: 'm2' }),
  ]);
  const matches = await store.search({ scopeKey: 's1', embeddingModel: 'm1', vector: unit([1, 0, 0]), k: 5, now: 2000 });
  assert.deepEqual(
    matches.map((m) => m.id),
    ['a', 'b', 'c'],
  );
  assert.ok(Math.abs((matches[0]?.score ?? 0) - 1) < 1e-6);
  assert.equal(matches[2]?.score, 0, 'orthogonal is 0');
  const opposite = await store.search({ scopeKey: 's1', embeddingModel: 'm1', vector: unit([-1, 0, 0]), k: 1, now: 2000 });
  assert.equal(opposite[0]?.score, 0, 'negative similarity clips to 0');
});

test('expired and too old entries are never returned', async (t) => {
  const db = openSqlite(tempDb(t));
  t.after(() => db.close());
  const store = new SqliteVectorStore(db);
  await store.upsert([
    record('old', [1, 0], { createdAt: 10 }),
    record('expired', [1, 0], { expiresAt: 1500 }),
    record('fresh', [0.5, 0.5], { createdAt: 1000 }),
  ]);
  const matches = await store.search({ scopeKey: 's1', embeddingModel: 'm1', vector: unit([1, 0]), k: 5, now: 2000, minCreatedAt: 500 });
  assert.deepEqual(
    matches.map((m) => m.id),
    ['fresh'],
  );
});

test('upsert replaces, delete removes, and the index is rebuilt from SQLite at start', async (t) => {
  const file = tempDb(t);
  const db = openSqlite(file);
  const store = new SqliteVectorStore(db);
  const many = Array.from({ length: 100 }, (_, i) => record(`v${i}`, [Math.cos(i / 10), Math.sin(i / 10), 0.1]));
  await store.upsert(many);
  await store.upsert([record('v0', [0, 0, 1])]);
  await store.delete(['v1', 'v2']);
  assert.equal(await store.count(), 98);
  db.close();
  const reopened = openSqlite(file);
  t.after(() => reopened.close());
  const rebuilt = new SqliteVectorStore(reopened);
  assert.equal(await rebuilt.count(), 98);
  const top = await rebuilt.search({ scopeKey: 's1', embeddingModel: 'm1', vector: unit([0, 0, 1]), k: 1, now: 2000 });
  assert.equal(top[0]?.id, 'v0');
  const gone = await rebuilt.search({
    scopeKey: 's1',
    embeddingModel: 'm1',
    vector: unit([Math.cos(0.1), Math.sin(0.1), 0.1]),
    k: 3,
    now: 2000,
  });
  assert.ok(!gone.some((m) => m.id === 'v1'));
});

test('the index agrees with a brute-force scan on random vectors', async (t) => {
  const db = openSqlite(':memory:');
  t.after(() => db.close());
  const store = new SqliteVectorStore(db);
  const dims = 16;
  const random = (): number[] => Array.from({ length: dims }, () => Math.random() - 0.5);
  const records = Array.from({ length: 500 }, (_, i) => record(`r${i}`, random()));
  await store.upsert(records);
  for (let q = 0; q < 20; q++) {
    const query = unit(random());
    const expected = records
      .map((r) => ({ id: r.id, score: r.vector.reduce((sum, v, d) => sum + v * (query[d] as number), 0) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, 5)
      .map((m) => m.id);
    const got = await store.search({ scopeKey: 's1', embeddingModel: 'm1', vector: query, k: 5, now: 0 });
    assert.deepEqual(
      got.map((m) => m.id),
      expected,
    );
  }
});
