import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import { binOf, binScore, entryLevel, SCORE_BINS, type ScoreStats } from './score-stats.ts';
import type { Candidate, Observation } from './types.ts';

/** Weight, in observations, of the namespace's curve in an entry's own estimate. */
export const ENTRY_PRIOR_STRENGTH = 4;

/** The chance that an entry's answer is wrong for a lookup at some score. */
export interface RiskEstimate {
  /** Best estimate of P(wrong). */
  mean: number;
  /** Upper confidence bound of P(wrong). */
  upper: number;
  /** Observations behind the upper bound: the level's own and the entry's own. */
  support: number;
  /** All observations the estimate draws on, the namespace's pooled ones included. */
  evidence: number;
  /** The entry's evidence level (see `evidenceLevel`). */
  level: number;
}

/** The one-sided normal quantile of a confidence level (0.95 -> 1.645). */
export const zOf = (confidence: number): number => normalQuantile(confidence, 0, 1);

/** Wilson score upper bound of a proportion `p` seen over `n` trials, at normal quantile `z`. */
export function wilsonUpper(p: number, n: number, z: number): number {
  if (n <= 0) return 1;
  const z2 = z * z;
  const centre = p + z2 / (2 * n);
  const spread = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return Math.min(1, (centre + spread) / (1 + z2 / n));
}

/**
 * P(wrong) for a lookup at `score` against an entry: the namespace's curve for the entry's evidence
 * level, as a prior of {@link ENTRY_PRIOR_STRENGTH} observations, updated with the entry's own wrong
 * outcomes at this score or above (correctness only grows with the score, so each of them says the
 * entry draws lookups it does not answer). The entry's correct outcomes count in the curves and in
 * its evidence level but do not lower its own risk: the lookups that land on one entry ask different
 * questions, so one answered right says little about the next, while one answered wrong at a higher
 * score is a warning. A bound that holds at a lower score holds here too: the upper bound is the
 * least over this score's bin and the bins below it, which lets well-observed scores vouch for
 * sparsely observed higher ones.
 */
export function estimateRisk(stats: ScoreStats, candidate: Candidate, z: number): RiskEstimate {
  const { score, observations } = candidate;
  const level = entryLevel(candidate);
  const top = binOf(score);
  if (top < stats.firstBin) return { mean: 1, upper: 1, support: 0, evidence: 0, level };
  const curve = stats.curve(level);
  let best: RiskEstimate = { mean: 1, upper: 1, support: 0, evidence: 0, level };
  let here: RiskEstimate = best;
  for (let bin = stats.firstBin; bin <= top; bin++) {
    const at = bin === top ? score : binScore(bin);
    const point = curve[bin] ?? { correct: 0, support: 0, pooledSupport: 0 };
    let wrong = ENTRY_PRIOR_STRENGTH * (1 - point.correct);
    const right = ENTRY_PRIOR_STRENGTH * point.correct;
    for (const observation of observations) if (!observation.correct && observation.score >= at) wrong += 1;
    const mean = wrong / (wrong + right);
    const support = point.support + wrong + right - ENTRY_PRIOR_STRENGTH;
    here = { mean, upper: wilsonUpper(mean, Math.max(1, support), z), support, evidence: support + point.pooledSupport, level };
    if (here.upper < best.upper) best = here;
  }
  return { mean: here.mean, upper: best.upper, support: best.support, evidence: best.evidence, level };
}

/**
 * The entry's threshold: the lowest score from which on the upper bound of P(wrong) stays at or
 * under `allowance`; null when no score up to 1 qualifies.
 */
export function entryThreshold(
  stats: ScoreStats,
  entry: { hitCount: number; observations: readonly Observation[] },
  allowance: number,
  z: number,
): number | null {
  let threshold: number | null = null;
  for (let bin = SCORE_BINS - 1; bin >= stats.firstBin; bin--) {
    const score = binScore(bin);
    if (estimateRisk(stats, { ...entry, score }, z).upper > allowance) break;
    threshold = score;
  }
  return threshold;
}
