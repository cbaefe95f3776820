import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { CacheError } from '@llm-cache/core';
import { CacheStores, openSqlite, SqliteEntryStore, SqliteVectorStore } from '@llm-cache/storage';
import { S3ObjectStore } from '@llm-cache/storage/distributed';
import { cacheEntry } from '@llm-cache/testing';
import { s3Bucket, s3Options, s3Store } from './helpers.ts';

test('put, get and delete; a missing key reads as null', async (t) => {
  const store = await s3Store(t);
  await store.put('responses/a.json', Buffer.from('{"a":1}'));
  assert.deepEqual(await store.get('responses/a.json'), Buffer.from('{"a":1}'));
  await store.put('responses/a.json', Buffer.from('replaced'));
  assert.equal((await store.get('responses/a.json'))?.toString(), 'replaced');
  assert.equal(await store.get('never-written'), null);
  await store.put('empty', Buffer.alloc(0));
  assert.deepEqual(await store.get('empty'), Buffer.alloc(0));
  await store.delete(['responses/a.json', 'never-written', 'responses/a.json']);
  assert.equal(await store.get('responses/a.json'), null);
  await store.delete([]);
});

test('a 1 MB binary body and unusual keys round-trip', async (t) => {
  const store = await s3Store(t);
  const body = randomBytes(1024 * 1024);
  await store.put('big', body);
  const read = await store.get('big');
  assert.ok(read && read.equals(body));
  for (const key of ['with space', 'ünïcødé/☃', 'a+b=c&d', 'deep/ly/nested/key.bin', '0123abcd'.repeat(8)]) {
    await store.put(key, Buffer.from(key));
    assert.equal((await store.get(key))?.toString(), key, key);
  }
});

test('delete removes more than one DeleteObjects batch (1000 keys)', async (t) => {
  const store = await s3Store(t);
  const keys = Array.from({ length: 1005 }, (_, i) => `k/${i}`);
  for (let i = 0; i < keys.length; i += 50) {
    await Promise.all(keys.slice(i, i + 50).map((key) => store.put(key, Buffer.from(key))));
  }
  assert.equal((await store.get('k/1004'))?.toString(), 'k/1004');
  await store.delete(keys);
  assert.equal(await store.get('k/0'), null);
  assert.equal(await store.get('k/999'), null);
  assert.equal(await store.get('k/1004'), null);
});

test('create is idempotent on an existing bucket', async (t) => {
  const bucket = await s3Bucket(t);
  const first = await S3ObjectStore.create(s3Options(bucket));
  t.after(() => first.close());
  await first.put('x', Buffer.from('1'));
  const [second, third] = await Promise.all([S3ObjectStore.create(s3Options(bucket)), S3ObjectStore.create(s3Options(bucket))]);
  t.after(() => second.close());
  t.after(() => third.close());
  assert.equal((await second.get('x'))?.toString(), '1');
});

test('failures are retryable LLMCACHE_STORAGE errors without credentials', async (t) => {
  const bucket = await s3Bucket(t);
  const wrongSecret = await S3ObjectStore.create({ ...s3Options(bucket), secretAccessKey: 'hunter2-secret' }).catch((e: unknown) => e);
  assert.ok(wrongSecret instanceof CacheError);
  assert.equal(wrongSecret.code, 'LLMCACHE_STORAGE');
  assert.equal(wrongSecret.retryable, true);
  assert.doesNotMatch(wrongSecret.message, /hunter2/);
  const unreachable = await S3ObjectStore.create({ ...s3Options(bucket), endpoint: 'http://127.0.0.1:1' }).catch((e: unknown) => e);
  assert.ok(unreachable instanceof CacheError);
  assert.equal(unreachable.code, 'LLMCACHE_STORAGE');
  assert.match(unreachable.message, /127\.0\.0\.1:1/);
  assert.ok(unreachable.cause !== undefined);
});

test('concurrent writes to distinct keys all land; the last write to one key wins', async (t) => {
  const store = await s3Store(t);
  await Promise.all(Array.from({ length: 40 }, (_, i) => store.put(`c/${i}`, Buffer.from(`body ${i} ✓`))));
  const bodies = await Promise.all(Array.from({ length: 40 }, (_, i) => store.get(`c/${i}`)));
  assert.deepEqual(
    bodies.map((body) => body?.toString('utf8')),
    Array.from({ length: 40 }, (_, i) => `body ${i} ✓`),
  );
  for (let i = 0; i < 5; i++) await store.put('same', Buffer.from(`v${i}`));
  assert.equal((await store.get('same'))?.toString(), 'v4');
});

test('CacheStores reads responses from S3 and removes them with their entries', async (t) => {
  const objects = await s3Store(t);
  const db = openSqlite(':memory:');
  t.after(() => db.close());
  const stores = new CacheStores(new SqliteEntryStore(db), new SqliteVectorStore(db), objects);
  const entry = cacheEntry('big', { response: null, responseRef: 'responses/big', responseBytes: 5 });
  await objects.put('responses/big', Buffer.from('héllo'));
  await stores.entries.upsert(entry);
  assert.equal(await stores.responseOf(entry), 'héllo');
  assert.deepEqual(
    (await stores.remove(['big'])).map((e) => e.id),
    ['big'],
  );
  assert.equal(await objects.get('responses/big'), null);
  assert.equal(await stores.responseOf(entry), null);
});
