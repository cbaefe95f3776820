import { isotonicIncreasing } from './isotonic.ts';

/** Scores are counted in bins of 0.01. */
export const SCORE_BINS = 100;
/**
 * Entries are pooled by how much they have been looked up before (hits served plus verified
 * outcomes): 0, 1, 2-3, 4 or more. An entry that many lookups land near sits in a crowded part of the
 * space, where a high score says less; each level learns its own score-to-correctness curve.
 */
export const EVIDENCE_LEVELS = 4;
/** Pseudo-observations a level borrows from the namespace's pooled curve in every bin. */
const BORROWED = 2;

/** The bin of a score; the small slack keeps a bin's own lowest score (0.29 = 28.999...) in it. */
export const binOf = (score: number): number => Math.min(SCORE_BINS - 1, Math.max(0, Math.floor(score * SCORE_BINS + 1e-9)));

/** The lowest score of a bin. */
export const binScore = (bin: number): number => bin / SCORE_BINS;

function evidenceLevel(evidence: number): number {
  if (evidence <= 0) return 0;
  if (evidence === 1) return 1;
  return evidence < 4 ? 2 : 3;
}

/** An entry's evidence level: the hits it served plus the outcomes it has seen. */
export const entryLevel = (entry: { hitCount: number; observations: { length: number } }): number =>
  evidenceLevel(entry.hitCount + entry.observations.length);

/** A namespace's verified outcomes, as stored: counts per evidence level and score bin. */
export interface ScoreCounts {
  /** Indexed `level * SCORE_BINS + bin`. */
  correct: number[];
  wrong: number[];
  /** Explored lookups with a recorded outcome. */
  explored: number;
  /** The risk the policy predicted for them, summed. */
  exploredRisk: number;
  /** How many of them were wrong. */
  exploredWrong: number;
}

export const emptyCounts = (): ScoreCounts => ({
  correct: new Array<number>(EVIDENCE_LEVELS * SCORE_BINS).fill(0),
  wrong: new Array<number>(EVIDENCE_LEVELS * SCORE_BINS).fill(0),
  explored: 0,
  exploredRisk: 0,
  exploredWrong: 0,
});

/** Counts kept sparsely, one cell per evidence level and score bin (as the stores keep them). */
export interface SparseCounts {
  cells: ReadonlyArray<{ level: number; bin: number; correct: number; wrong: number }>;
  explored: number;
  exploredRisk: number;
  exploredWrong: number;
}

/** Dense counts from sparse ones; cells outside the levels and bins are ignored. */
export function countsFromCells(sparse: SparseCounts): ScoreCounts {
  const dense = emptyCounts();
  for (const { level, bin, correct, wrong } of sparse.cells) {
    if (level < 0 || level >= EVIDENCE_LEVELS || bin < 0 || bin >= SCORE_BINS) continue;
    dense.correct[level * SCORE_BINS + bin] = correct;
    dense.wrong[level * SCORE_BINS + bin] = wrong;
  }
  return { ...dense, explored: sparse.explored, exploredRisk: sparse.exploredRisk, exploredWrong: sparse.exploredWrong };
}

/** One verified outcome as the statistics take it. */
export interface OutcomeSample {
  score: number;
  correct: boolean;
  /** The entry's evidence level when the lookup was decided (see {@link evidenceLevel}). */
  level: number;
  /** Set for explored lookups: the risk the policy predicted for answering them. */
  exploredRisk?: number;
}

/** P(correct) at one score bin, with the observations behind it. */
export interface CurvePoint {
  correct: number;
  /** This level's own observations in the bin's pooled block. */
  support: number;
  /** The namespace's observations (all levels) in the block its pooled curve gave this bin. */
  pooledSupport: number;
}

/** A namespace's statistics with the curves estimated from them, re-estimated only after a change. */
export class ScoreStats {
  private readonly data: ScoreCounts;
  private readonly curves = new Map<number, CurvePoint[]>();
  readonly firstBin: number;

  constructor(counts: ScoreCounts = emptyCounts(), minScore = 0.5) {
    this.data = { ...counts, correct: [...counts.correct], wrong: [...counts.wrong] };
    this.firstBin = binOf(minScore);
  }

  add(outcome: OutcomeSample): void {
    const index = Math.min(EVIDENCE_LEVELS - 1, Math.max(0, outcome.level)) * SCORE_BINS + binOf(outcome.score);
    const counts = outcome.correct ? this.data.correct : this.data.wrong;
    counts[index] = (counts[index] ?? 0) + 1;
    if (outcome.exploredRisk !== undefined) {
      this.data.explored += 1;
      this.data.exploredRisk += outcome.exploredRisk;
      if (!outcome.correct) this.data.exploredWrong += 1;
    }
    this.curves.clear();
  }

  counts(): ScoreCounts {
    return { ...this.data, correct: [...this.data.correct], wrong: [...this.data.wrong] };
  }

  /**
   * How far explored lookups turned out worse than predicted: (wrong + 1) / (predicted + 1), never
   * below 1 and at most 3. Explored lookups are a random sample of the would-be hits, so this is the
   * measured check on the model; the budget scales every risk by it.
   */
  calibration(): number {
    const ratio = (this.data.exploredWrong + 1) / (this.data.exploredRisk + 1);
    return Math.min(3, Math.max(1, ratio));
  }

  /**
   * P(correct | score bin) for one evidence level, non-decreasing in the score: the namespace's
   * pooled curve (all levels) lends each bin a little weight, then the level's own counts are fitted
   * by isotonic regression. Bins below the minimum score, and below the lowest outcome, count as
   * never correct.
   */
  curve(level: number): CurvePoint[] {
    const cached = this.curves.get(level);
    if (cached) return cached;
    const bins = Array.from({ length: SCORE_BINS - this.firstBin }, (_, i) => this.firstBin + i);
    const count = (array: number[], l: number, bin: number): number => array[l * SCORE_BINS + bin] ?? 0;
    const pooledCorrect = bins.map((bin) => sumLevels((l) => count(this.data.correct, l, bin)));
    const pooledTotal = bins.map((bin, i) => (pooledCorrect[i] ?? 0) + sumLevels((l) => count(this.data.wrong, l, bin)));
    // An empty bin weighs nothing and starts at 0, so the fit carries the bin below it upwards:
    // with no outcome at a score, it is taken to be as safe as the highest score below, no safer.
    const pooled = isotonicIncreasing(
      bins.map((_, i) => ((pooledTotal[i] ?? 0) === 0 ? 0 : ((pooledCorrect[i] ?? 0) + 0.5) / ((pooledTotal[i] ?? 0) + 1))),
      pooledTotal,
    );
    const own = bins.map((bin) => ({
      correct: count(this.data.correct, level, bin),
      total: count(this.data.correct, level, bin) + count(this.data.wrong, level, bin),
    }));
    const fitted = isotonicIncreasing(
      own.map((o, i) => (o.correct + BORROWED * (pooled[i]?.value ?? 0.5)) / (o.total + BORROWED)),
      own.map((o) => o.total + BORROWED),
    );
    const curve: CurvePoint[] = new Array<CurvePoint>(this.firstBin).fill({ correct: 0, support: 0, pooledSupport: 0 });
    fitted.forEach((point, i) =>
      curve.push({
        correct: point.value,
        support: Math.max(0, point.weight - BORROWED * point.pooled),
        pooledSupport: pooled[i]?.weight ?? 0,
      }),
    );
    this.curves.set(level, curve);
    return curve;
  }
}

const sumLevels = (of: (level: number) => number): number => {
  let sum = 0;
  for (let level = 0; level < EVIDENCE_LEVELS; level++) sum += of(level);
  return sum;
};
