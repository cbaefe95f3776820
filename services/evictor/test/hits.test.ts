import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryBus } from '@llm-cache/bus';
import { TOPICS, type CacheHitEvent } from '@llm-cache/codec';
import { startEvictor } from '@llm-cache/evictor';
import { CacheStores, openSqlite, sqliteCacheStores } from '@llm-cache/storage';
import { MongoEntryStore } from '@llm-cache/storage/distributed';
import { createLogger, Metrics } from '@llm-cache/telemetry';
import { cacheEntry, onFreshMongoDatabase } from '@llm-cache/testing';

test('hits delivered many at once are all counted, on a MongoDB-compatible store (FerretDB of the stack)', async (t) => {
  const entries = await onFreshMongoDatabase(t, (options) => MongoEntryStore.create(options));
  const scope = { scopeKey: 's', tenant: 't', namespace: 'ns', model: 'm', paramsHash: 'p', contextHash: '' };
  for (const id of ['popular', 'other']) await entries.upsert(cacheEntry(id, scope));
  const bus = new MemoryBus();
  const db = openSqlite(':memory:');
  const local = sqliteCacheStores(db, '/nonexistent');
  const stores = new CacheStores(entries, local.vectors, local.objects);
  const evictor = await startEvictor({
    bus,
    stores,
    logger: createLogger({ level: 'silent' }),
    metrics: new Metrics({ defaultMetrics: false }),
    limits: { policy: 'lru', maxEntries: 0, maxBytes: 0, namespaces: {}, intervalMs: 3_600_000 },
  });
  t.after(async () => {
    await evictor.close();
    await bus.close();
    db.close();
  });
  const hit = (entryId: string, decidedAt: number): CacheHitEvent =>
    ({
      requestId: `r${decidedAt}`,
      replyTo: null,
      ...scope,
      entryId,
      score: 0.9,
      response: 'answer',
      responseRef: null,
      entryCreatedAt: 1000,
      entryExpiresAt: null,
      decidedAt,
      hitCount: 1,
    }) as CacheHitEvent;
  // 40 hits of one entry and 10 of another, published at once: the evictor takes 16 at a time.
  await Promise.all([
    ...Array.from({ length: 40 }, (_, i) => bus.publish(TOPICS.hits, 's', hit('popular', 2000 + i))),
    ...Array.from({ length: 10 }, (_, i) => bus.publish(TOPICS.hits, 's', hit('other', 5000 - i))),
  ]);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && ((await entries.get('popular'))?.hitCount ?? 0) + ((await entries.get('other'))?.hitCount ?? 0) < 50) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const popular = await entries.get('popular');
  const other = await entries.get('other');
  assert.equal(popular?.hitCount, 40, 'no hit of the popular entry is lost');
  assert.equal(popular?.lastHitAt, 2039, 'the latest hit time is kept');
  assert.equal(other?.hitCount, 10);
  assert.equal(other?.lastHitAt, 5000, 'hits arriving out of order keep the latest time');
});
