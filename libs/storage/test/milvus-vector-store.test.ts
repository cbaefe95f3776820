import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MilvusClient } from '@zilliz/milvus2-sdk-node';
import { CacheError } from '@llm-cache/core';
import { MilvusVectorStore } from '@llm-cache/storage/distributed';
import { STACK } from '@llm-cache/testing';
import { milvusCollection, milvusStore, unit, vectorRecord as record } from './helpers.ts';

test('search ranks by cosine within the scope and model only, scores clipped to [0, 1]', async (t) => {
  const store = await milvusStore(t, 3);
  await store.upsert([
    record('a', [1, 0, 0]),
    record('b', [0.9, 0.1, 0]),
    record('c', [0, 1, 0]),
    record('other-scope', [1, 0, 0], { scopeKey: 's2' }),
    record('other-model', [1, 0, 0], { embeddingModel: 'm2' }),
  ]);
  await store.whenSearchable();
  const matches = await store.search({ scopeKey: 's1', embeddingModel: 'm1', vector: unit([1, 0, 0]), k: 5, now: 2000 });
  assert.deepEqual(
    matches.map((m) => m.id),
    ['a', 'b', 'c'],
  );
  assert.ok(Math.abs((matches[0]?.score ?? 0) - 1) < 1e-6);
  assert.ok(Math.abs((matches[1]?.score ?? 0) - 0.9 / Math.hypot(0.9, 0.1)) < 1e-6);
  assert.equal(matches[2]?.score, 0, 'orthogonal is 0');
  const opposite = await store.search({ scopeKey: 's1', embeddingModel: 'm1', vector: unit([-1, 0, 0]), k: 1, now: 2000 });
  assert.equal(opposite[0]?.score, 0, 'negative similarity clips to 0');
  assert.deepEqual(await store.search({ scopeKey: 's1', embeddingModel: 'm1', vector: unit([1, 0]), k: 5, now: 2000 }), []);
});

test('filter values are escaped: free-text embedding models match only themselves', async (t) => {
  const store = await milvusStore(t, 2);
  const models = ['plain', 'quo"te', 'back\\slash', 'end\\', '\\"', 'new\nline\r\ttab', "it's ☃ 𝄞", 'x" or scope_key != "'];
  await store.upsert(models.map((model, i) => record(`id${i}`, [1, i / 10], { embeddingModel: model })));
  await store.whenSearchable();
  for (const [i, model] of models.entries()) {
    const matches = await store.search({ scopeKey: 's1', embeddingModel: model, vector: unit([1, 0]), k: 10, now: 0 });
    assert.deepEqual(
      matches.map((m) => m.id),
      [`id${i}`],
      JSON.stringify(model),
    );
  }
  const found = await store.getVectors(['id1', 'id7']);
  assert.equal(found.get('id1')?.embeddingModel, 'quo"te');
  assert.equal(found.get('id7')?.embeddingModel, 'x" or scope_key != "');
});

test('expired and too old entries are never returned', async (t) => {
  const store = await milvusStore(t, 2);
  await store.upsert([
    record('old', [1, 0], { createdAt: 10 }),
    record('expired', [1, 0], { expiresAt: 1500 }),
    record('expires-now', [1, 0], { expiresAt: 2000 }),
    record('fresh', [0.5, 0.5], { createdAt: 1000 }),
    record('later', [0.4, 0.6], { createdAt: 1000, expiresAt: 1_800_000_000_000 }),
  ]);
  await store.whenSearchable();
  const query = { scopeKey: 's1', embeddingModel: 'm1', vector: unit([1, 0]), k: 5, now: 2000 };
  assert.deepEqual(
    (await store.search({ ...query, minCreatedAt: 500 })).map((m) => m.id),
    ['fresh', 'later'],
  );
  assert.deepEqual(
    (await store.search(query)).map((m) => m.id),
    ['old', 'fresh', 'later'],
  );
  assert.deepEqual(
    (await store.search({ ...query, minCreatedAt: 1000, now: 1_800_000_000_000 })).map((m) => m.id),
    ['fresh'],
  );
});

test('upsert replaces, delete removes, a second store on the collection sees everything', async (t) => {
  const collection = await milvusCollection(t);
  const store = await milvusStore(t, 3, collection);
  const many = Array.from({ length: 100 }, (_, i) => record(`v${i}`, [Math.cos(i / 10), Math.sin(i / 10), 0.1]));
  await store.upsert(many);
  await store.upsert([record('v0', [0, 0, 1], { createdAt: 5000, expiresAt: 9000 })]);
  await store.delete(['v1', 'v2', 'never-existed']);
  await store.whenSearchable();
  assert.equal(await store.count(), 98);
  const again = await milvusStore(t, 3, collection);
  assert.equal(await again.count(), 98);
  const top = await again.search({ scopeKey: 's1', embeddingModel: 'm1', vector: unit([0, 0, 1]), k: 1, now: 2000 });
  assert.equal(top[0]?.id, 'v0');
  const near = unit([Math.cos(0.1), Math.sin(0.1), 0.1]);
  const gone = await again.search({ scopeKey: 's1', embeddingModel: 'm1', vector: near, k: 3, now: 2000 });
  assert.ok(!gone.some((m) => m.id === 'v1'));
  const vectors = await again.getVectors(['v3', 'v0', 'v1', 'missing']);
  assert.deepEqual([...vectors.keys()], ['v3', 'v0']);
  const v0 = vectors.get('v0');
  assert.deepEqual({ ...v0, vector: undefined }, { ...record('v0', [0, 0, 1], { createdAt: 5000, expiresAt: 9000 }), vector: undefined });
  assert.ok(v0?.vector instanceof Float32Array);
  assert.deepEqual(Array.from(v0.vector), [0, 0, 1]);
  assert.equal(vectors.get('v3')?.expiresAt, null);
});

test('once whenSearchable resolves every store sees the writes before it, also with concurrent writers', async (t) => {
  const collection = await milvusCollection(t);
  const store = await milvusStore(t, 4, collection);
  const reader = await milvusStore(t, 4, collection); // another process's store: its own connection
  for (let i = 0; i < 10; i++) {
    const scopeKey = `scope${i}`;
    await store.upsert([record(`w${i}`, [1, i, 0, 1], { scopeKey })]);
    await store.whenSearchable();
    const found = await reader.search({ scopeKey, embeddingModel: 'm1', vector: unit([1, i, 0, 1]), k: 1, now: 0 });
    assert.equal(found[0]?.id, `w${i}`);
    await store.delete([`w${i}`]);
    await store.whenSearchable();
    assert.deepEqual(await reader.search({ scopeKey, embeddingModel: 'm1', vector: unit([1, i, 0, 1]), k: 1, now: 0 }), []);
  }
  // A burst of writers waiting together shares one or two probes: all of them see their own write.
  await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      await store.upsert([record(`burst${i}`, [0, 0, 1, i], { scopeKey: `burst${i}` })]);
      await store.whenSearchable();
      const found = await reader.search({ scopeKey: `burst${i}`, embeddingModel: 'm1', vector: unit([0, 0, 1, i]), k: 1, now: 0 });
      assert.equal(found[0]?.id, `burst${i}`);
    }),
  );
  await store.delete(Array.from({ length: 20 }, (_, i) => `burst${i}`));
  await Promise.all(Array.from({ length: 10 }, (_, i) => store.upsert([record(`p${i}`, [1, 0, 0, i]), record(`q${i}`, [0, 1, 0, i])])));
  await Promise.all([store.delete(['p0', 'q0']), store.upsert([record('p0', [1, 1, 1, 1])])]);
  assert.equal(await store.count(), 19, 'the delete queued first ran first');
});

test('HNSW agrees with a brute-force scan on 200 random 384-d vectors', async (t) => {
  const store = await milvusStore(t, 384);
  const random = (): number[] => Array.from({ length: 384 }, () => Math.random() - 0.5);
  const records = Array.from({ length: 200 }, (_, i) => record(`r${i}`, random()));
  await store.upsert(records);
  await store.whenSearchable();
  for (let q = 0; q < 20; q++) {
    const query = unit(random());
    const expected = records
      .map((r) => ({ id: r.id, score: r.vector.reduce((sum, v, d) => sum + v * (query[d] as number), 0) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, 5)
      .map((m) => m.id);
    const got = (await store.search({ scopeKey: 's1', embeddingModel: 'm1', vector: query, k: 5, now: 0 })).map((m) => m.id);
    assert.equal(got[0], expected[0], 'top-1 agrees');
    assert.ok(got.filter((id) => expected.includes(id)).length >= 4, `top-5 overlap: ${got} vs ${expected}`);
  }
});

test('create is idempotent (also concurrently) and checks the dimensions', async (t) => {
  const collection = await milvusCollection(t);
  const [first, second] = await Promise.all([milvusStore(t, 8, collection), milvusStore(t, 8, collection)]);
  await first.upsert([record('x', [1, 0, 0, 0, 0, 0, 0, 0])]);
  const third = await milvusStore(t, 8, collection);
  assert.equal(await third.count(), 1);
  assert.equal(await second.count(), 1);
  await assert.rejects(MilvusVectorStore.create({ address: STACK.milvusAddress, collection, dimensions: 16 }), {
    code: 'LLMCACHE_CONFIG',
  });
  await assert.rejects(first.upsert([record('short', [1, 0])]), { code: 'LLMCACHE_CONFIG' });
});

test('a released collection is loaded again on the next read', async (t) => {
  const collection = await milvusCollection(t);
  const store = await milvusStore(t, 2, collection);
  await store.upsert([record('a', [1, 0])]);
  const admin = new MilvusClient({ address: STACK.milvusAddress, logLevel: 'error' });
  t.after(() => admin.closeConnection());
  assert.equal((await admin.releaseCollection({ collection_name: collection })).error_code, 'Success');
  const raw = await admin.search({ collection_name: collection, data: [1, 0], limit: 1, output_fields: ['id'] });
  assert.notEqual(raw.status.error_code, 'Success', 'the SDK reports a released collection in status only');
  const matches = await store.search({ scopeKey: 's1', embeddingModel: 'm1', vector: unit([1, 0]), k: 1, now: 0 });
  assert.equal(matches[0]?.id, 'a');
  await admin.releaseCollection({ collection_name: collection });
  assert.equal(await store.count(), 1);
});

test('failures are retryable LLMCACHE_STORAGE errors without credentials', async (t) => {
  const collection = await milvusCollection(t);
  const store = await milvusStore(t, 2, collection);
  const error = await MilvusVectorStore.create({
    address: '127.0.0.1:1',
    collection: 'nowhere',
    dimensions: 2,
    username: 'root',
    password: 'hunter2-secret',
  }).catch((e: unknown) => e);
  assert.ok(error instanceof CacheError);
  assert.equal(error.code, 'LLMCACHE_STORAGE');
  assert.equal(error.retryable, true);
  assert.match(error.message, /Milvus not reachable at 127\.0\.0\.1:1/);
  assert.doesNotMatch(error.message, /hunter2/);
  assert.ok(error.cause !== undefined);
  const admin = new MilvusClient({ address: STACK.milvusAddress, logLevel: 'error' });
  t.after(() => admin.closeConnection());
  // A vanished collection: the SDK throws or reports a status; both become LLMCACHE_STORAGE.
  await admin.dropCollection({ collection_name: collection });
  await assert.rejects(store.search({ scopeKey: 's1', embeddingModel: 'm1', vector: unit([1, 0]), k: 1, now: 0 }), {
    code: 'LLMCACHE_STORAGE',
    retryable: true,
  });
  await assert.rejects(store.count(), { code: 'LLMCACHE_STORAGE' });
});
