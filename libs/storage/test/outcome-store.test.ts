import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { MemoryOutcomeStore, openSqlite, SqliteOutcomeStore, type OutcomeRecord, type OutcomeStore } from '@llm-cache/storage';
import { MongoOutcomeStore } from '@llm-cache/storage/distributed';
import { onFreshMongoDatabase } from '@llm-cache/testing';

const mongoOutcomes = (t: TestContext): Promise<MongoOutcomeStore> =>
  onFreshMongoDatabase(t, (options) => MongoOutcomeStore.create(options));

const ADAPTERS: Array<[string, (t: TestContext) => Promise<OutcomeStore>]> = [
  ['memory', async () => new MemoryOutcomeStore()],
  [
    'SQLite',
    async (t) => {
      const db = openSqlite(':memory:');
      t.after(() => db.close());
      return new SqliteOutcomeStore(db);
    },
  ],
  ['MongoDB', mongoOutcomes],
];

const outcome = (id: string, extra: Partial<OutcomeRecord> = {}): OutcomeRecord => ({
  id,
  tenant: 't1',
  namespace: 'ns',
  entryId: 'e1',
  score: 0.9,
  bin: 90,
  correct: true,
  level: 0,
  kind: 'near-miss',
  exploredRisk: null,
  at: 1000,
  ...extra,
});

for (const [name, open] of ADAPTERS) {
  test(`${name}: an outcome is counted once, however often it is delivered`, async (t) => {
    const store = await open(t);
    assert.equal(await store.record(outcome('o1'), 20), true);
    assert.equal(await store.record(outcome('o1'), 20), false);
    assert.deepEqual(await store.observations('e1'), [{ score: 0.9, correct: true, at: 1000 }]);
    assert.deepEqual(await store.counts('t1', 'ns'), {
      cells: [{ level: 0, bin: 90, correct: 1, wrong: 0 }],
      explored: 0,
      exploredRisk: 0,
      exploredWrong: 0,
      hitsCorrect: 0,
      hitsWrong: 0,
    });
  });

  test(`${name}: counts add up per level and bin, explored hits keep their predicted risk`, async (t) => {
    const store = await open(t);
    await store.record(outcome('a', { correct: false, bin: 93, score: 0.93, level: 2 }), 20);
    await store.record(outcome('b', { correct: false, bin: 93, score: 0.935, level: 2, kind: 'explored', exploredRisk: 0.1 }), 20);
    await store.record(outcome('c', { correct: true, bin: 93, score: 0.931, level: 2, kind: 'explored', exploredRisk: 0.05 }), 20);
    await store.record(outcome('d', { correct: true, bin: 88, score: 0.88, kind: 'hit' }), 20);
    await store.record(outcome('e', { namespace: 'other', correct: false, kind: 'hit' }), 20);
    const counts = await store.counts('t1', 'ns');
    assert.deepEqual(counts.cells, [
      { level: 0, bin: 88, correct: 1, wrong: 0 },
      { level: 2, bin: 93, correct: 1, wrong: 2 },
    ]);
    assert.equal(counts.explored, 2);
    assert.ok(Math.abs(counts.exploredRisk - 0.15) < 1e-9);
    assert.equal(counts.exploredWrong, 1);
    assert.equal(counts.hitsCorrect, 2);
    assert.equal(counts.hitsWrong, 1);
    assert.deepEqual(await store.counts('t2', 'ns'), {
      cells: [],
      explored: 0,
      exploredRisk: 0,
      exploredWrong: 0,
      hitsCorrect: 0,
      hitsWrong: 0,
    });
    assert.deepEqual(await store.falseHitTotals(), [
      { tenant: 't1', namespace: 'ns', correct: 2, wrong: 1 },
      { tenant: 't1', namespace: 'other', correct: 0, wrong: 1 },
    ]);
  });

  test(`${name}: an entry keeps its last observations, and forgets them when removed`, async (t) => {
    const store = await open(t);
    for (let i = 0; i < 5; i++) await store.record(outcome(`o${i}`, { score: 0.5 + i / 10, at: 1000 + i, correct: i % 2 === 0 }), 3);
    await store.record(outcome('x', { entryId: 'e2' }), 3);
    assert.deepEqual(
      (await store.observations('e1')).map((o) => o.at),
      [1002, 1003, 1004],
    );
    assert.equal((await store.observations('e1'))[1]?.correct, false);
    await store.forget(['e1', 'missing']);
    assert.deepEqual(await store.observations('e1'), []);
    assert.equal((await store.observations('e2')).length, 1);
  });

  test(`${name}: hit records are found by request id until pruned`, async (t) => {
    const store = await open(t);
    const hit = { requestId: 'r1', tenant: 't1', namespace: 'ns', scopeKey: 'scope', entryId: 'e1', score: 0.91, at: 5000 };
    await store.putHit(hit);
    await store.putHit({ ...hit, requestId: 'r2', at: 9000 });
    assert.deepEqual(await store.getHit('r1'), hit);
    assert.equal(await store.getHit('nope'), null);
    await store.record(outcome('old', { at: 4000 }), 20);
    await store.prune(6000);
    assert.equal(await store.getHit('r1'), null);
    assert.equal((await store.getHit('r2'))?.entryId, 'e1');
    // A pruned outcome id is forgotten: outcomes that old are no longer redelivered.
    assert.equal(await store.record(outcome('old', { at: 4000 }), 20), true);
  });
}
