import assert from 'node:assert/strict';
import test from 'node:test';
import { emptyCounts, seededRandom, StaticPolicy, VerifiedPolicy, type Decision, type Observation } from '../src/index.ts';
import { knownThreshold, lookupStream, TYPICAL, type Mixture } from './synthetic.ts';

const candidate = (score: number, observations: Observation[] = [], hitCount = 0) => ({ score, hitCount, observations });

test('the static policy hits exactly at and above its threshold and verifies nothing', () => {
  const policy = new StaticPolicy();
  assert.equal(policy.decide({ candidate: candidate(0.85), threshold: 0.85 }).kind, 'hit');
  assert.equal(policy.decide({ candidate: candidate(0.8499), threshold: 0.85 }).kind, 'miss');
  const none = policy.decide({ candidate: null, threshold: 0.1 });
  assert.equal(none.kind, 'miss');
  assert.equal(none.verify, false);
});

test('with no observations yet nothing is hit and near misses are verified', () => {
  const policy = new VerifiedPolicy({ maxFalseHitRate: 0.02 });
  const random = seededRandom(3);
  for (let i = 0; i < 500; i++) {
    const decision = policy.decide({ candidate: candidate(0.99), threshold: 0.85 }, random);
    assert.equal(decision.kind, 'miss');
    assert.equal(decision.verify, true);
  }
  assert.equal(policy.decide({ candidate: candidate(0.3), threshold: 0.85 }, random).verify, false, 'far misses are not compared');
});

interface Replay {
  lookups: number;
  hits: number;
  wrongHits: number;
  correctHits: number;
  correctLookups: number;
  explores: number;
  affordable: number;
}

/** Feeds a synthetic stream through the policy, recording the outcome of every verified lookup. */
function replay(
  policy: VerifiedPolicy,
  mixture: Mixture,
  count: number,
  seed: number,
  warmup: number,
): { early: Replay; late: Replay; decisions: Decision[] } {
  const next = lookupStream(mixture, seed);
  const random = seededRandom(seed + 1);
  const empty = (): Replay => ({ lookups: 0, hits: 0, wrongHits: 0, correctHits: 0, correctLookups: 0, explores: 0, affordable: 0 });
  const early = empty();
  const late = empty();
  const decisions: Decision[] = [];
  for (let i = 0; i < count; i++) {
    const lookup = next();
    const decision = policy.decide({ candidate: candidate(lookup.score), threshold: 0.85 }, random);
    decisions.push(decision);
    const figures = i < warmup ? early : late;
    figures.lookups += 1;
    if (lookup.correct) figures.correctLookups += 1;
    if (decision.kind === 'hit') {
      figures.hits += 1;
      if (lookup.correct) figures.correctHits += 1;
      else figures.wrongHits += 1;
    }
    if (decision.kind !== 'miss') figures.affordable += 1;
    if (decision.kind === 'explore') figures.explores += 1;
    if (decision.verify) {
      policy.record({
        score: lookup.score,
        correct: lookup.correct,
        level: decision.level,
        ...(decision.kind === 'explore' ? { exploredRisk: decision.risk } : {}),
      });
    }
  }
  return { early, late, decisions };
}

test('on a stream, the verified policy keeps the false-hit budget and hits most of what the known threshold would', () => {
  const policy = new VerifiedPolicy({ maxFalseHitRate: 0.02 });
  const { early, late } = replay(policy, TYPICAL, 30_000, 5, 5_000);
  assert.ok(late.wrongHits / late.lookups <= 0.02, `${late.wrongHits} wrong hits in ${late.lookups} lookups`);
  // The best a single threshold can do here: hit every lookup at or above the known one.
  const threshold = knownThreshold(TYPICAL, 0.02);
  const next = lookupStream(TYPICAL, 5);
  let reachable = 0;
  for (let i = 0; i < 30_000; i++) {
    const lookup = next();
    if (i >= 5_000 && lookup.correct && lookup.score >= threshold) reachable += 1;
  }
  assert.ok(late.correctHits >= 0.8 * reachable, `${late.correctHits} correct hits, ${reachable} above the known threshold`);
  assert.ok(late.explores / late.affordable < early.explores / early.affordable, 'exploration falls as evidence grows');
});

test('decisions repeat exactly with the same random source', () => {
  const kinds = (seed: number): string =>
    replay(new VerifiedPolicy({ maxFalseHitRate: 0.02 }), TYPICAL, 3_000, seed, 0)
      .decisions.map((d) => d.kind[0])
      .join('');
  assert.equal(kinds(9), kinds(9));
  assert.notEqual(kinds(9), kinds(10));
});

test('explored hits that turn out worse than predicted make the policy more careful', () => {
  const trained = new VerifiedPolicy({ maxFalseHitRate: 0.02 });
  replay(trained, TYPICAL, 20_000, 6, 0);
  const counts = trained.statistics.counts();
  const honest = new VerifiedPolicy({ maxFalseHitRate: 0.02 }, counts);
  const humbled = new VerifiedPolicy({ maxFalseHitRate: 0.02 }, { ...counts, explored: 200, exploredRisk: 2, exploredWrong: 8 });
  assert.equal(honest.statistics.calibration(), Math.max(1, (counts.exploredWrong + 1) / (counts.exploredRisk + 1)));
  assert.equal(humbled.statistics.calibration(), 3);
  const hits = (policy: VerifiedPolicy): number => {
    const random = seededRandom(12);
    const next = lookupStream(TYPICAL, 13);
    let count = 0;
    for (let i = 0; i < 5_000; i++)
      if (policy.decide({ candidate: candidate(next().score), threshold: 0.85 }, random).kind === 'hit') count += 1;
    return count;
  };
  assert.ok(hits(humbled) < hits(honest), `${hits(humbled)} vs ${hits(honest)} hits`);
  assert.deepEqual(emptyCounts().correct.length, counts.correct.length);
});
