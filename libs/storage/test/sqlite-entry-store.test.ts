import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openSqlite, SqliteEntryStore } from '@llm-cache/storage';
import { cacheEntry } from '@llm-cache/testing';

const entry = cacheEntry;

test('upsert is idempotent and reports whether it created', async (t) => {
  const db = openSqlite(':memory:');
  t.after(() => db.close());
  const store = new SqliteEntryStore(db);
  assert.deepEqual(await store.upsert(entry('a')), { created: true });
  assert.deepEqual(await store.upsert(entry('a', { response: 'new' })), { created: false });
  assert.equal((await store.get('a'))?.response, 'new');
  assert.equal((await store.totals()).entries, 1);
  assert.equal(await store.get('missing'), null);
});

test('find by namespace and tags stays inside the tenant', async (t) => {
  const db = openSqlite(':memory:');
  t.after(() => db.close());
  const store = new SqliteEntryStore(db);
  await store.upsert(entry('a', { tags: ['x', 'y'] }));
  await store.upsert(entry('b', { tags: ['y'] }));
  await store.upsert(entry('c', { tags: ['z'], namespace: 'other' }));
  await store.upsert(entry('d', { tags: ['x'], tenant: 't2' }));
  assert.deepEqual((await store.findIds({ tenant: 't1', tags: ['x'] })).sort(), ['a']);
  assert.deepEqual((await store.findIds({ tenant: 't1', tags: ['y', 'z'] })).sort(), ['a', 'b', 'c']);
  assert.deepEqual((await store.findIds({ tenant: 't1', namespace: 'ns' })).sort(), ['a', 'b']);
  const removed = await store.delete(['a', 'nope']);
  assert.deepEqual(
    removed.map((e) => e.id),
    ['a'],
  );
});

test('eviction order follows LRU, LFU and FIFO', async (t) => {
  const db = openSqlite(':memory:');
  t.after(() => db.close());
  const store = new SqliteEntryStore(db);
  await store.upsert(entry('first', { createdAt: 1 }));
  await store.upsert(entry('second', { createdAt: 2 }));
  await store.upsert(entry('third', { createdAt: 3 }));
  await store.recordHits([
    { id: 'first', at: 10 },
    { id: 'first', at: 11 },
    { id: 'second', at: 12 },
  ]);
  assert.equal((await store.evictionCandidates('fifo', 1))[0]?.id, 'first');
  assert.equal((await store.evictionCandidates('lru', 1))[0]?.id, 'third');
  assert.equal((await store.evictionCandidates('lfu', 1))[0]?.id, 'third');
  await store.recordHits([{ id: 'third', at: 13 }]);
  assert.equal((await store.evictionCandidates('lru', 1))[0]?.id, 'first');
  assert.equal((await store.get('first'))?.hitCount, 2);
});

test('expired ids are listed oldest first', async (t) => {
  const db = openSqlite(':memory:');
  t.after(() => db.close());
  const store = new SqliteEntryStore(db);
  await store.upsert(entry('never'));
  await store.upsert(entry('later', { expiresAt: 500 }));
  await store.upsert(entry('soon', { expiresAt: 100 }));
  assert.deepEqual(await store.expiredIds(1000, 10), ['soon', 'later']);
  assert.deepEqual(await store.expiredIds(200, 10), ['soon']);
});
