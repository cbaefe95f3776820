/** One verified lookup of an entry: the score it matched with and whether the entry's answer was right for it. */
export interface Observation {
  score: number;
  correct: boolean;
}

/** The best live entry a lookup found, with what the cache knows about it. */
export interface Candidate {
  score: number;
  /** Hits the entry has served (unverified ones included). */
  hitCount: number;
  /** The entry's verified outcomes, oldest first. */
  observations: readonly Observation[];
}

export type DecisionKind = 'hit' | 'miss' | 'explore';

/**
 * What to do with a lookup. An explore is answered as a miss (the upstream model answers) and its
 * answer is compared with the candidate's, so the cache learns whether the hit would have been right.
 */
export interface Decision {
  kind: DecisionKind;
  /** Compare the upstream answer of this miss with the candidate's answer and record the outcome. */
  verify: boolean;
  /** The estimated chance (upper bound) that the candidate's answer is wrong for this lookup. */
  risk: number;
  /** The candidate's evidence level, under which an outcome of this lookup is counted. */
  level: number;
}

export interface DecisionInput {
  candidate: Candidate | null;
  /** The static threshold in force for this lookup (the request's, or the configured one). */
  threshold: number;
}

/** Uniform numbers in [0, 1): `Math.random`, or a seeded source where runs must repeat. */
export type RandomSource = () => number;

/** Decides hit, miss or explore for the best candidate of a lookup; one instance per namespace. */
export interface DecisionPolicy {
  readonly name: PolicyName;
  decide(input: DecisionInput, random: RandomSource): Decision;
}

export const POLICY_NAMES = ['static', 'verified'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];
