import type { TestContext } from 'node:test';
import type { CacheEntry } from '@llm-cache/core';
import { dropMongoDatabase } from './cleanup.ts';
import { requireServer, STACK, uniqueName } from './stack.ts';

/** A cache entry of scope `scope` (tenant t1, namespace ns), never hit; `extra` overrides any field. */
export const cacheEntry = (id: string, extra: Partial<CacheEntry> = {}): CacheEntry => ({
  id,
  scopeKey: 'scope',
  tenant: 't1',
  namespace: 'ns',
  model: 'm',
  paramsHash: 'p',
  contextHash: '',
  prompt: `prompt ${id}`,
  response: `response ${id}`,
  responseRef: null,
  responseBytes: 10,
  tags: [],
  createdAt: 1000,
  expiresAt: null,
  hitCount: 0,
  lastHitAt: null,
  embeddingModel: 'e',
  ...extra,
});

/** A store made on a fresh MongoDB database of the stack; after the test it is closed and the database dropped. */
export async function onFreshMongoDatabase<S extends { close(): Promise<void> }>(
  t: TestContext,
  create: (options: { url: string; database: string }) => Promise<S>,
): Promise<S> {
  await requireServer('MongoDB (FerretDB)', STACK.mongoUrl);
  const database = uniqueName('llmcache_test_');
  const store = await create({ url: STACK.mongoUrl, database });
  t.after(async () => {
    await store.close();
    await dropMongoDatabase(database);
  });
  return store;
}
