import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { MemoryBus } from '@llm-cache/bus';
import { TOPICS, type CacheOutcomeEvent, type CacheWriteEvent } from '@llm-cache/codec';
import { defaultModelDir, ensureModel, OnnxEmbedder } from '@llm-cache/embedding';
import { openSqlite, sqliteCacheStores } from '@llm-cache/storage';
import { createLogger, Metrics } from '@llm-cache/telemetry';
import { startWriter } from '@llm-cache/writer';

/** A writer with the local embedder on SQLite stores and the in-process bus, with one cached answer. */
async function writer(t: TestContext) {
  const db = openSqlite(':memory:');
  const stores = sqliteCacheStores(db, '/nonexistent');
  const bus = new MemoryBus();
  const metrics = new Metrics({ defaultMetrics: false });
  const embedder = await OnnxEmbedder.create({ modelDir: await ensureModel({ dir: defaultModelDir(), fetch: true }) });
  const running = await startWriter({
    bus,
    stores,
    logger: createLogger({ level: 'silent' }),
    metrics,
    objectThresholdBytes: 65_536,
    embedder: async () => embedder,
    answerSimilarity: 0.9,
  });
  const outcomes: CacheOutcomeEvent[] = [];
  await bus.subscribe({ group: 'test', handlers: { [TOPICS.outcomes]: async (event) => void outcomes.push(event) } });
  t.after(async () => {
    await running.close();
    await bus.close();
    await embedder.close();
    db.close();
  });
  const scope = { scopeKey: 'scope', tenant: 't', namespace: 'ns', model: 'm', paramsHash: 'p', contextHash: '' };
  const write = (entryId: string, response: string, verify: CacheWriteEvent['verify']): CacheWriteEvent => ({
    entryId,
    requestId: `${entryId}:write`,
    replyTo: null,
    ...scope,
    prompt: `question ${entryId}`,
    response,
    tags: [],
    createdAt: 1,
    expiresAt: null,
    embeddingModel: 'e',
    vector: [1, 0, 0],
    verify,
  });
  await bus.publish(TOPICS.writes, 'scope', write('cached', 'Unplug the router, wait thirty seconds, and plug it back in.', null));
  const waitFor = async (check: () => boolean): Promise<void> => {
    for (let i = 0; i < 400 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(check(), 'timed out');
  };
  for (let i = 0; i < 200 && !(await stores.entries.get('cached')); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  return { bus, stores, metrics, outcomes, write, waitFor };
}

test('the writer compares a verified miss with the cached answer and records the outcome once', async (t) => {
  const { bus, stores, outcomes, write, waitFor } = await writer(t);
  const verify = { entryId: 'cached', score: 0.93, level: 0, explored: true, risk: 0.05 };
  await bus.publish(TOPICS.writes, 'scope', write('same', 'Unplug the router, wait thirty seconds, then plug it back in.', verify));
  await bus.publish(TOPICS.writes, 'scope', write('other', 'Paris is the capital of France.', { ...verify, explored: false }));
  await waitFor(() => outcomes.length === 2);
  const byRequest = new Map(outcomes.map((o) => [o.requestId, o]));
  assert.equal(byRequest.get('same:write')?.correct, true);
  assert.equal(byRequest.get('same:write')?.kind, 'EXPLORED');
  assert.equal(byRequest.get('same:write')?.exploredRisk, 0.05);
  assert.equal(byRequest.get('other:write')?.correct, false);
  assert.equal(byRequest.get('other:write')?.kind, 'NEAR_MISS');
  assert.ok((byRequest.get('other:write')?.similarity ?? 1) < 0.9);
  for (let i = 0; i < 100 && (await stores.outcomes.observations('cached')).length < 2; i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
  const observations = await stores.outcomes.observations('cached');
  assert.deepEqual(observations.map((o) => o.correct).sort(), [false, true]);
  const counts = await stores.outcomes.counts('t', 'ns');
  assert.equal(counts.explored, 1);
  assert.equal(counts.exploredWrong, 0);
  // A redelivered outcome is not counted again.
  await bus.publish(TOPICS.outcomes, 'scope', byRequest.get('other:write') as CacheOutcomeEvent);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal((await stores.outcomes.observations('cached')).length, 2);
});

test('feedback without an evidence level is counted at the entry’s level as it is now', async (t) => {
  const { bus, stores, metrics, write } = await writer(t);
  await bus.publish(TOPICS.writes, 'scope', write('popular', 'An answer.', null));
  for (let i = 0; i < 100 && !(await stores.entries.get('popular')); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  await stores.entries.recordHits([{ id: 'popular', at: 2, count: 5 }]);
  await bus.publish(TOPICS.outcomes, 'scope', {
    outcomeId: 'feedback:r1',
    requestId: 'r1',
    scopeKey: 'scope',
    tenant: 't',
    namespace: 'ns',
    entryId: 'popular',
    score: 0.91,
    correct: false,
    level: null,
    kind: 'HIT',
    source: 'FEEDBACK',
    exploredRisk: null,
    similarity: null,
    at: 3,
  });
  for (let i = 0; i < 100 && (await stores.outcomes.counts('t', 'ns')).cells.length === 0; i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual((await stores.outcomes.counts('t', 'ns')).cells, [{ level: 3, bin: 91, correct: 0, wrong: 1 }]);
  assert.deepEqual(await stores.outcomes.falseHitTotals(), [{ tenant: 't', namespace: 'ns', correct: 0, wrong: 1 }]);
  const counted = (await metrics.outcomes.get()).values.find((v) => v.labels.source === 'feedback');
  assert.equal(counted?.value, 1);
});
