/**
 * Synthetic lookups whose right answer is known: scores of correct matches are drawn from one
 * normal distribution, scores of wrong ones from another, so P(wrong | score), and with it the
 * lowest score at which a hit keeps a given error rate, can be computed exactly.
 */
import { seededRandom, type RandomSource } from '../src/index.ts';

export interface Mixture {
  /** Share of lookups whose candidate is the right answer. */
  correctShare: number;
  correct: { mean: number; sd: number };
  wrong: { mean: number; sd: number };
}

const density = (x: number, { mean, sd }: { mean: number; sd: number }): number =>
  Math.exp(-0.5 * ((x - mean) / sd) ** 2) / (sd * Math.sqrt(2 * Math.PI));

/** P(wrong | score) of the mixture. */
export function wrongAt(mixture: Mixture, score: number): number {
  const wrong = (1 - mixture.correctShare) * density(score, mixture.wrong);
  const correct = mixture.correctShare * density(score, mixture.correct);
  return wrong / (wrong + correct);
}

/** The lowest score from which on P(wrong | score) stays at or under `rate` (scanned in steps of 0.0005). */
export function knownThreshold(mixture: Mixture, rate: number): number {
  let threshold = 1;
  for (let score = 1; score >= 0; score -= 0.0005) {
    if (wrongAt(mixture, score) > rate) break;
    threshold = score;
  }
  return threshold;
}

export interface SyntheticLookup {
  score: number;
  correct: boolean;
}

/** An endless, repeatable stream of lookups drawn from the mixture (scores clipped to [0, 1]). */
export function lookupStream(mixture: Mixture, seed: number): () => SyntheticLookup {
  const random = seededRandom(seed);
  return () => {
    const correct = random() < mixture.correctShare;
    const { mean, sd } = correct ? mixture.correct : mixture.wrong;
    return { score: Math.min(1, Math.max(0, mean + sd * gaussian(random))), correct };
  };
}

/** A standard normal draw (Box-Muller). */
export function gaussian(random: RandomSource): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** A typical mixture: right answers score around 0.9, wrong ones around 0.75. */
export const TYPICAL: Mixture = { correctShare: 0.5, correct: { mean: 0.9, sd: 0.03 }, wrong: { mean: 0.75, sd: 0.05 } };
