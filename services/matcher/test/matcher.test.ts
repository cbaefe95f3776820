import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { MemoryBus } from '@llm-cache/bus';
import { TOPICS, type CacheHitEvent, type CacheMissEvent, type CacheRequestEvent } from '@llm-cache/codec';
import { STATIC_DECISIONS } from '@llm-cache/policy';
import { openSqlite, sqliteCacheStores, ThresholdBook } from '@llm-cache/storage';
import { createLogger, Metrics } from '@llm-cache/telemetry';
import { startMatcher } from '@llm-cache/matcher';

const unit = (values: number[]): number[] => {
  const norm = Math.hypot(...values);
  return values.map((v) => v / norm);
};

/** A matcher on SQLite stores and the in-process bus, with one stored entry and a collector of its replies. */
async function matcher(t: TestContext) {
  const db = openSqlite(':memory:');
  const stores = sqliteCacheStores(db, '/nonexistent');
  const bus = new MemoryBus();
  const metrics = new Metrics({ defaultMetrics: false });
  const thresholds = new ThresholdBook(stores.thresholds, 0.8);
  await thresholds.start();
  t.after(() => thresholds.close());
  const running = await startMatcher({
    bus,
    stores,
    logger: createLogger({ level: 'silent' }),
    metrics,
    thresholds,
    decision: { ...STATIC_DECISIONS, namespaces: { learned: { policy: 'verified' } } },
  });
  const replies = new Map<string, { hit?: CacheHitEvent; miss?: CacheMissEvent }>();
  await bus.subscribe({
    group: 'test',
    handlers: {
      [TOPICS.hits]: async (event) => void replies.set(event.requestId, { hit: event }),
      [TOPICS.misses]: async (event) => void replies.set(event.requestId, { miss: event }),
    },
  });
  t.after(async () => {
    await running.close();
    await bus.close();
    db.close();
  });
  const stored = unit([1, 0, 0, 0]);
  for (const namespace of ['default', 'learned']) {
    const scopeKey = `scope-${namespace}`;
    await stores.entries.upsert({
      id: `entry-${namespace}`,
      scopeKey,
      tenant: 't',
      namespace,
      model: 'm',
      paramsHash: 'p',
      contextHash: '',
      prompt: 'stored question',
      response: 'stored answer',
      responseRef: null,
      responseBytes: 13,
      tags: [],
      createdAt: 1,
      expiresAt: null,
      hitCount: 0,
      lastHitAt: null,
      embeddingModel: 'e',
    });
    await stores.vectors.upsert([
      { id: `entry-${namespace}`, scopeKey, embeddingModel: 'e', vector: Float32Array.from(stored), createdAt: 1, expiresAt: null },
    ]);
  }
  let counter = 0;
  /** Sends a lookup at about `score` similarity to the stored entry and waits for the reply. */
  const lookup = async (namespace: string, score: number, threshold: number | null) => {
    const requestId = `r${++counter}`;
    const request: CacheRequestEvent = {
      requestId,
      kind: 'LOOKUP',
      replyTo: 'test',
      scopeKey: `scope-${namespace}`,
      tenant: 't',
      namespace,
      model: 'm',
      paramsHash: 'p',
      contextHash: '',
      text: 'a question',
      threshold,
      minCreatedAt: null,
      sentAt: Date.now(),
      store: null,
    };
    await bus.publish(TOPICS.embedded, request.scopeKey, {
      request,
      embeddingModel: 'e',
      vector: unit([score, Math.sqrt(1 - score * score), 0, 0]),
    });
    for (let i = 0; i < 200 && !replies.has(requestId); i++) await new Promise((resolve) => setTimeout(resolve, 5));
    const reply = replies.get(requestId);
    assert.ok(reply, 'the matcher did not answer');
    return reply;
  };
  return { lookup, stores, metrics, bus, thresholds };
}

test('a static namespace hits at its threshold and asks for no verification', async (t) => {
  const { lookup } = await matcher(t);
  assert.equal((await lookup('default', 0.9, 0.8)).hit?.entryId, 'entry-default');
  const miss = (await lookup('default', 0.7, 0.8)).miss;
  assert.ok(miss);
  assert.equal(miss.verify, null);
});

test('a verified namespace without outcomes answers misses that ask for verification against the candidate', async (t) => {
  const { lookup, metrics } = await matcher(t);
  const miss = (await lookup('learned', 0.95, null)).miss;
  assert.ok(miss, 'nothing is known yet, so even a close candidate is not served');
  assert.equal(miss.verify?.entryId, 'entry-learned');
  assert.ok(Math.abs((miss.verify?.score ?? 0) - 0.95) < 1e-3);
  assert.equal(miss.verify?.explored, false);
  assert.equal((await lookup('learned', 0.3, null)).miss?.verify, null, 'a candidate below minScore is not verified');
  // A lookup that names its threshold is decided by it, in any namespace.
  assert.equal((await lookup('learned', 0.95, 0.9)).hit?.entryId, 'entry-learned');
  const decisions = (await metrics.decisions.get()).values.map(
    (v) => `${v.labels.namespace}/${v.labels.policy}/${v.labels.decision}=${v.value}`,
  );
  assert.deepEqual(decisions.sort(), ['learned/static/hit=1', 'learned/verified/miss=2']);
});

test('once outcomes show that close candidates are right, the verified namespace hits', async (t) => {
  const { lookup, stores } = await matcher(t);
  for (let i = 0; i < 400; i++) {
    await stores.outcomes.record(
      {
        id: `o${i}`,
        tenant: 't',
        namespace: 'learned',
        entryId: `other-${i}`,
        score: 0.95,
        bin: 95,
        correct: true,
        level: 0,
        kind: 'near-miss',
        exploredRisk: null,
        at: 1,
      },
      20,
    );
  }
  // Statistics are read back at most a second later.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const kinds: string[] = [];
  for (let i = 0; i < 20; i++) {
    const reply = await lookup('learned', 0.96, null);
    kinds.push(reply.hit ? 'hit' : reply.miss?.verify?.explored ? 'explore' : 'miss');
  }
  assert.ok(kinds.filter((k) => k === 'hit').length >= 15, kinds.join(' '));
  assert.ok(!kinds.includes('miss'), 'an affordable candidate is hit or explored, never plainly missed');
});

test("a lookup without a threshold takes its tenant's and namespace's, as set at runtime and announced", async (t) => {
  const { lookup, stores, bus } = await matcher(t);
  assert.ok((await lookup('default', 0.7, null)).miss, 'the configured 0.8 applies first');
  // Another process keeps a lower threshold for tenant t and announces it on the control topic.
  await stores.thresholds.put({ tenant: 't', namespace: '*', threshold: 0.6, updatedAt: Date.now() });
  await stores.thresholds.put({ tenant: 'other', namespace: '*', threshold: 0.1, updatedAt: Date.now() });
  await bus.publish(TOPICS.control, 'threshold', { setting: 'THRESHOLD', value: 0.6, at: Date.now(), origin: 'elsewhere' });
  let reply = await lookup('default', 0.7, null);
  for (let i = 0; i < 50 && !reply.hit; i++) reply = await lookup('default', 0.7, null);
  assert.equal(reply.hit?.entryId, 'entry-default', "tenant t's own threshold decides its stream lookups");
  // A namespace's own threshold wins over its tenant's.
  await stores.thresholds.put({ tenant: 't', namespace: 'default', threshold: 0.95, updatedAt: Date.now() });
  await bus.publish(TOPICS.control, 'threshold', { setting: 'THRESHOLD', value: 0.95, at: Date.now(), origin: 'elsewhere' });
  reply = await lookup('default', 0.9, null);
  for (let i = 0; i < 50 && reply.hit; i++) reply = await lookup('default', 0.9, null);
  assert.ok(reply.miss, 'the namespace threshold 0.95 turns a 0.9 candidate into a miss');
  assert.equal((await lookup('default', 0.9, 0.8)).hit?.entryId, 'entry-default', 'a threshold the request names still wins');
});
