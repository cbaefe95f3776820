import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CacheError } from '@llm-cache/core';
import { openSqlite, SqliteEntryStore, type EntryStore } from '@llm-cache/storage';
import { MongoEntryStore } from '@llm-cache/storage/distributed';
import { cacheEntry as entry } from '@llm-cache/testing';
import { mongoStore } from './helpers.ts';

test('upsert is idempotent and reports whether it created', async (t) => {
  const store = await mongoStore(t);
  assert.deepEqual(await store.upsert(entry('a')), { created: true });
  assert.deepEqual(await store.upsert(entry('a', { response: 'new' })), { created: false });
  assert.equal((await store.get('a'))?.response, 'new');
  assert.equal((await store.totals()).entries, 1);
  assert.equal(await store.get('missing'), null);
  assert.deepEqual(await store.get('a'), entry('a', { response: 'new' }));
});

test('upsert of an existing id keeps its scope and hits, like SQLite ON CONFLICT', async (t) => {
  const store = await mongoStore(t);
  await store.upsert(entry('a', { tags: ['x'] }));
  await store.recordHits([{ id: 'a', at: 5000, count: 3 }]);
  await store.upsert(entry('a', { tenant: 'other', prompt: 'p2', tags: ['y'], createdAt: 2000, expiresAt: 9000, hitCount: 0 }));
  assert.deepEqual(
    await store.get('a'),
    entry('a', { prompt: 'p2', tags: ['y'], createdAt: 2000, expiresAt: 9000, hitCount: 3, lastHitAt: 5000 }),
  );
});

test('find by namespace and tags stays inside the tenant', async (t) => {
  const store = await mongoStore(t);
  await store.upsert(entry('a', { tags: ['x', 'y'] }));
  await store.upsert(entry('b', { tags: ['y'] }));
  await store.upsert(entry('c', { tags: ['z'], namespace: 'other' }));
  await store.upsert(entry('d', { tags: ['x'], tenant: 't2' }));
  assert.deepEqual((await store.findIds({ tenant: 't1', tags: ['x'] })).sort(), ['a']);
  assert.deepEqual((await store.findIds({ tenant: 't1', tags: ['y', 'z'] })).sort(), ['a', 'b', 'c']);
  assert.deepEqual((await store.findIds({ tenant: 't1', namespace: 'ns' })).sort(), ['a', 'b']);
  assert.deepEqual(await store.findIds({ tenant: 't1', tags: [] }), []);
  const removed = await store.delete(['a', 'nope', 'a']);
  assert.deepEqual(removed, [entry('a', { tags: ['x', 'y'] })]);
  assert.equal(await store.get('a'), null);
  assert.deepEqual(
    (await store.scan('t1', null, 10)).map((e) => e.id),
    ['b', 'c'],
  );
  assert.deepEqual(
    (await store.scan('t1', 'b', 10)).map((e) => e.id),
    ['c'],
  );
});

test('eviction order follows LRU, LFU and FIFO', async (t) => {
  const store = await mongoStore(t);
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
  assert.deepEqual(
    (await store.evictionCandidates('lfu', 3)).map((e) => e.id),
    ['second', 'third', 'first'],
  );
  assert.deepEqual(await store.evictionCandidates('lru', 0), []);
});

test('expired ids are listed oldest first', async (t) => {
  const store = await mongoStore(t);
  await store.upsert(entry('never'));
  await store.upsert(entry('later', { expiresAt: 500 }));
  await store.upsert(entry('soon', { expiresAt: 100 }));
  assert.deepEqual(await store.expiredIds(1000, 10), ['soon', 'later']);
  assert.deepEqual(await store.expiredIds(200, 10), ['soon']);
  assert.deepEqual(await store.expiredIds(500, 1), ['soon']);
  assert.deepEqual(await store.expiredIds(99, 10), []);
});

test('totals and namespace stats count entries, bytes (response + prompt characters) and hits', async (t) => {
  const store = await mongoStore(t);
  await store.upsert(entry('a', { prompt: 'abc', responseBytes: 100 }));
  await store.upsert(entry('b', { prompt: 'héllo 𝄞', responseBytes: 50 })); // 7 characters
  await store.upsert(entry('c', { namespace: 'other', prompt: 'xy', responseBytes: 20 }));
  await store.upsert(entry('d', { tenant: 't2', prompt: '', responseBytes: 1 }));
  await store.recordHits([
    { id: 'a', at: 2000, count: 4 },
    { id: 'b', at: 2001 },
    { id: 'c', at: 2002, count: 2 },
  ]);
  assert.deepEqual(await store.totals(), { entries: 4, bytes: 103 + 57 + 22 + 1 });
  assert.deepEqual(await store.totals({ tenant: 't1', namespace: 'ns' }), { entries: 2, bytes: 160 });
  assert.deepEqual(await store.totals({ tenant: 't1', namespace: 'none' }), { entries: 0, bytes: 0 });
  assert.deepEqual(await store.namespaceStats('t1'), [
    { tenant: 't1', namespace: 'ns', entries: 2, bytes: 160, hits: 5 },
    { tenant: 't1', namespace: 'other', entries: 1, bytes: 22, hits: 2 },
  ]);
  assert.deepEqual(await store.namespaceStats(), [
    { tenant: 't1', namespace: 'ns', entries: 2, bytes: 160, hits: 5 },
    { tenant: 't1', namespace: 'other', entries: 1, bytes: 22, hits: 2 },
    { tenant: 't2', namespace: 'ns', entries: 1, bytes: 1, hits: 0 },
  ]);
  assert.deepEqual(await store.namespaceStats('nobody'), []);
});

test('recordHits adds counts and only moves the last hit forward', async (t) => {
  const store = await mongoStore(t);
  await store.upsert(entry('a', { createdAt: 1000 }));
  await store.upsert(entry('b', { createdAt: 1000 }));
  await store.recordHits([
    { id: 'a', at: 3000, count: 2 },
    { id: 'a', at: 2000 },
    { id: 'missing', at: 5000 },
  ]);
  const a = await store.get('a');
  assert.equal(a?.hitCount, 3);
  assert.equal(a?.lastHitAt, 3000);
  // A first hit stamped before createdAt still makes it the LRU key (coalesce(lastHitAt, createdAt)).
  await store.recordHits([{ id: 'b', at: 500 }]);
  assert.deepEqual(
    (await store.evictionCandidates('lru', 2)).map((e) => e.id),
    ['b', 'a'],
  );
  await store.recordHits([]);
});

/** Runs one script on a store and returns everything it observed. */
async function script(store: EntryStore): Promise<unknown[]> {
  const seen: unknown[] = [];
  for (let i = 0; i < 12; i++) {
    const created = await store.upsert(
      entry(`e${i % 10}`, {
        namespace: i % 3 === 0 ? 'a' : 'b',
        tenant: i % 4 === 0 ? 't2' : 't1',
        prompt: `p${'x'.repeat(i)}`,
        responseBytes: i * 7,
        createdAt: 100 + (i % 5) * 10,
        expiresAt: i % 2 ? 1000 + i : null,
        tags: [`tag${i % 3}`],
      }),
    );
    seen.push(created);
  }
  await store.recordHits([
    { id: 'e1', at: 50, count: 2 },
    { id: 'e2', at: 300 },
    { id: 'e3', at: 120, count: 5 },
    { id: 'e2', at: 200 },
  ]);
  await store.upsert(entry('e3', { createdAt: 900, prompt: 'replaced' }));
  for (const order of ['lru', 'lfu', 'fifo'] as const) {
    seen.push((await store.evictionCandidates(order, 20)).map((e) => e.id));
    seen.push((await store.evictionCandidates(order, 3, { tenant: 't1', namespace: 'b' })).map((e) => e.id));
  }
  seen.push(await store.expiredIds(1005, 10), await store.totals(), await store.namespaceStats());
  seen.push((await store.findIds({ tenant: 't1', tags: ['tag1', 'tag2'] })).sort());
  seen.push(await store.scan('t1', 'e2', 3), await store.delete(['e4', 'e0', 'zz']), await store.get('e3'));
  return seen;
}

test('a mixed script gives exactly what the SQLite store gives', async (t) => {
  const db = openSqlite(':memory:');
  t.after(() => db.close());
  const expected = await script(new SqliteEntryStore(db));
  assert.deepEqual(await script(await mongoStore(t)), expected);
});

test('failures are retryable LLMCACHE_STORAGE errors without credentials', async () => {
  const error = await MongoEntryStore.create({
    url: 'mongodb://llm:hunter2-secret@127.0.0.1:1/?directConnection=true',
    database: 'nowhere',
    serverSelectionTimeoutMS: 300,
  }).catch((e: unknown) => e);
  assert.ok(error instanceof CacheError);
  assert.equal(error.code, 'LLMCACHE_STORAGE');
  assert.equal(error.retryable, true);
  assert.match(error.message, /^MongoDB connect failed/);
  assert.doesNotMatch(error.message, /hunter2/);
  assert.ok(error.cause instanceof Error);
});
