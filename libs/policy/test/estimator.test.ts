import assert from 'node:assert/strict';
import test from 'node:test';
import { entryThreshold, estimateRisk, ScoreStats, wilsonUpper, zOf } from '../src/index.ts';
import { knownThreshold, lookupStream, TYPICAL, wrongAt, type Mixture } from './synthetic.ts';

const Z95 = zOf(0.95);
const fresh = { hitCount: 0, observations: [] };

function statsFrom(mixture: Mixture, observations: number, seed: number, level = 0, stats = new ScoreStats()): ScoreStats {
  const next = lookupStream(mixture, seed);
  for (let i = 0; i < observations; i++) stats.add({ ...next(), level });
  return stats;
}

test('the Wilson bound lies above the proportion and narrows with more trials', () => {
  assert.ok(Math.abs(Z95 - 1.6449) < 1e-3);
  const few = wilsonUpper(0.02, 50, Z95);
  const many = wilsonUpper(0.02, 5000, Z95);
  assert.ok(few > many && many > 0.02);
  assert.equal(wilsonUpper(0.5, 0, Z95), 1);
});

test('the estimated threshold converges on the known one and errs on the safe side', () => {
  const truth = knownThreshold(TYPICAL, 0.02);
  assert.ok(truth > 0.85 && truth < 0.9, `known threshold ${truth}`);
  const thresholds = [2_000, 20_000, 200_000].map((n) => entryThreshold(statsFrom(TYPICAL, n, 7), fresh, 0.02, Z95));
  for (const threshold of thresholds) assert.ok(threshold !== null && threshold >= truth - 0.01, `${threshold} is below ${truth}`);
  const [few = 1, some = 1, many = 1] = thresholds.map((threshold) => threshold ?? 1);
  assert.ok(many <= some && some <= few, `thresholds ${thresholds.join(', ')} do not fall as evidence grows`);
  assert.ok(Math.abs(many - truth) <= 0.015, `threshold ${many} is far from the known ${truth}`);
});

test('hits above the estimated threshold keep the error budget on fresh lookups', () => {
  for (const mixture of [TYPICAL, { correctShare: 0.3, correct: { mean: 0.93, sd: 0.02 }, wrong: { mean: 0.8, sd: 0.04 } }]) {
    const threshold = entryThreshold(statsFrom(mixture, 20_000, 11), fresh, 0.02, Z95);
    assert.ok(threshold !== null);
    const next = lookupStream(mixture, 99);
    let hits = 0;
    let wrongHits = 0;
    for (let i = 0; i < 50_000; i++) {
      const lookup = next();
      if (lookup.score < threshold) continue;
      hits += 1;
      if (!lookup.correct) wrongHits += 1;
    }
    assert.ok(hits > 1000, `only ${hits} hits above ${threshold}`);
    assert.ok(wrongHits / hits <= 0.02, `${wrongHits} of ${hits} hits above ${threshold} were wrong`);
    assert.ok(wrongAt(mixture, threshold) <= 0.03);
  }
});

test('each evidence level learns its own threshold', () => {
  const crowded: Mixture = { correctShare: 0.5, correct: { mean: 0.95, sd: 0.02 }, wrong: { mean: 0.86, sd: 0.03 } };
  const stats = statsFrom(TYPICAL, 50_000, 3, 0);
  statsFrom(crowded, 50_000, 4, 3, stats);
  const quiet = entryThreshold(stats, fresh, 0.02, Z95);
  const busy = entryThreshold(stats, { hitCount: 6, observations: [] }, 0.02, Z95);
  assert.ok(quiet !== null && busy !== null);
  assert.ok(Math.abs(quiet - knownThreshold(TYPICAL, 0.02)) <= 0.015, `level 0: ${quiet}`);
  assert.ok(Math.abs(busy - knownThreshold(crowded, 0.02)) <= 0.015, `level 3: ${busy}`);
  assert.ok(busy > quiet + 0.03);
});

test('too few observations give no confident estimate', () => {
  assert.equal(entryThreshold(new ScoreStats(), fresh, 0.02, Z95), null);
  const stats = statsFrom(TYPICAL, 30, 5);
  const risk = estimateRisk(stats, { ...fresh, score: 0.95 }, Z95);
  assert.ok(risk.upper > 0.05, `upper bound ${risk.upper} from 30 observations`);
  assert.ok(risk.mean < risk.upper);
});

test("an entry's own wrong outcomes keep it from being hit where the namespace would be", () => {
  const stats = statsFrom(TYPICAL, 50_000, 8);
  const score = 0.93;
  assert.ok(estimateRisk(stats, { ...fresh, score }, Z95).upper <= 0.02);
  const biased = {
    hitCount: 0,
    observations: [
      { score: 0.95, correct: false },
      { score: 0.94, correct: false },
      { score: 0.97, correct: false },
    ],
  };
  assert.ok(estimateRisk(stats, { ...biased, score }, Z95).upper > 0.3);
  const threshold = entryThreshold(stats, biased, 0.02, Z95);
  assert.ok(threshold === null || threshold > 0.97, `threshold ${threshold}`);
  // Correct outcomes do not make an entry bolder than its evidence level's curve.
  const praised = { hitCount: 0, observations: [{ score: 0.85, correct: true }] };
  const level1 = { hitCount: 1, observations: [] };
  assert.equal(estimateRisk(stats, { ...praised, score: 0.87 }, Z95).mean, estimateRisk(stats, { ...level1, score: 0.87 }, Z95).mean);
});
