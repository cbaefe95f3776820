import { FalseHitBudget, type BudgetOptions } from './budget.ts';
import { estimateRisk, zOf } from './estimator.ts';
import { entryLevel, ScoreStats, type OutcomeSample, type ScoreCounts } from './score-stats.ts';
import type { Decision, DecisionInput, DecisionPolicy, RandomSource } from './types.ts';

const levelOf = (input: DecisionInput): number => (input.candidate ? entryLevel(input.candidate) : 0);

/** One threshold for every entry: a hit when the score reaches it. */
export class StaticPolicy implements DecisionPolicy {
  readonly name = 'static';

  decide(input: DecisionInput): Decision {
    const hit = input.candidate !== null && input.candidate.score >= input.threshold;
    return { kind: hit ? 'hit' : 'miss', verify: false, risk: hit ? 0 : 1, level: levelOf(input) };
  }
}

export interface VerifiedPolicyOptions {
  /** Wrong answers allowed per lookup, e.g. 0.02. */
  maxFalseHitRate: number;
  /** Confidence of the upper bounds on each hit's chance of being wrong (default 0.95). */
  confidence?: number;
  /** Below this score a lookup is a plain miss, neither answered nor verified (default 0.5). */
  minScore?: number;
  /** Share of the other misses whose answer is compared with the candidate's (default 1). */
  verifySampleRate?: number;
  /** Smallest chance that an affordable hit is explored instead (default 0.01). */
  explorationFloor?: number;
  budget?: Omit<BudgetOptions, 'maxFalseHitRate'>;
}

/**
 * Exploration falls with the evidence behind a hit (the namespace's observations at its score and
 * the entry's own) as EXPLORATION_SUPPORT / (EXPLORATION_SUPPORT + evidence): a hit backed by 2
 * observations is explored half of the time, one backed by 200 about 1%.
 */
const EXPLORATION_SUPPORT = 2;

/**
 * Learns where a hit is safe from verified outcomes instead of trusting one threshold. Each lookup's
 * risk (the upper bound of the chance that the candidate's answer is wrong, see `estimateRisk`) is
 * scaled by the measured calibration and offered to the namespace's {@link FalseHitBudget}; an
 * affordable hit is served, or explored with a probability that falls as evidence grows. Misses near
 * a candidate are verified too: their upstream answer is paid for anyway.
 */
export class VerifiedPolicy implements DecisionPolicy {
  readonly name = 'verified';
  readonly budget: FalseHitBudget;
  private stats: ScoreStats;
  private readonly z: number;
  private readonly minScore: number;
  private readonly verifySampleRate: number;
  private readonly explorationFloor: number;

  constructor(options: VerifiedPolicyOptions, counts?: ScoreCounts) {
    this.z = zOf(options.confidence ?? 0.95);
    this.minScore = options.minScore ?? 0.5;
    this.verifySampleRate = options.verifySampleRate ?? 1;
    this.explorationFloor = options.explorationFloor ?? 0.01;
    this.stats = new ScoreStats(counts, this.minScore);
    this.budget = new FalseHitBudget({ maxFalseHitRate: options.maxFalseHitRate, ...options.budget });
  }

  get statistics(): ScoreStats {
    return this.stats;
  }

  /** Replaces the namespace's statistics with the ones read back from the store. */
  setCounts(counts: ScoreCounts): void {
    this.stats = new ScoreStats(counts, this.minScore);
  }

  /** Adds one outcome to the statistics held here. */
  record(outcome: OutcomeSample): void {
    this.stats.add(outcome);
  }

  decide(input: DecisionInput, random: RandomSource): Decision {
    const { candidate } = input;
    if (candidate === null || candidate.score < this.minScore) {
      this.budget.tryCharge(1);
      return { kind: 'miss', verify: false, risk: 1, level: levelOf(input) };
    }
    const estimate = estimateRisk(this.stats, candidate, this.z);
    const risk = Math.min(1, estimate.upper * this.stats.calibration());
    if (this.budget.tryCharge(risk)) {
      const exploration = Math.max(this.explorationFloor, EXPLORATION_SUPPORT / (EXPLORATION_SUPPORT + estimate.evidence));
      const kind = random() < exploration ? 'explore' : 'hit';
      return { kind, verify: kind === 'explore', risk, level: estimate.level };
    }
    return { kind: 'miss', verify: random() < this.verifySampleRate, risk, level: estimate.level };
  }
}
