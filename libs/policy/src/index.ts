export type { Candidate, Decision, DecisionInput, DecisionKind, DecisionPolicy, Observation, PolicyName, RandomSource } from './types.ts';
export { POLICY_NAMES } from './types.ts';
export { isotonicIncreasing, type IsotonicPoint } from './isotonic.ts';
export {
  binOf,
  binScore,
  countsFromCells,
  emptyCounts,
  entryLevel,
  EVIDENCE_LEVELS,
  SCORE_BINS,
  ScoreStats,
  type CurvePoint,
  type OutcomeSample,
  type ScoreCounts,
  type SparseCounts,
} from './score-stats.ts';
export { ENTRY_PRIOR_STRENGTH, entryThreshold, estimateRisk, wilsonUpper, zOf, type RiskEstimate } from './estimator.ts';
export { FalseHitBudget, type BudgetOptions } from './budget.ts';
export { StaticPolicy, VerifiedPolicy, type VerifiedPolicyOptions } from './policies.ts';
export { seededRandom } from './random.ts';
export { policyOf, settingsFor, STATIC_DECISIONS, type DecisionFields, type DecisionSettings } from './settings.ts';
