import type { OutcomeRecord } from './ports.ts';

/**
 * What one outcome adds to its namespace's counts, the same for every outcome store: one to its cell's
 * correct or wrong, to the explored counts when it was an explored lookup, and to the hit totals
 * unless it was a near miss.
 */
export function outcomeIncrements(outcome: OutcomeRecord): {
  correct: number;
  wrong: number;
  explored: number;
  exploredRisk: number;
  exploredWrong: number;
  hitsCorrect: number;
  hitsWrong: number;
} {
  const correct = outcome.correct ? 1 : 0;
  const wrong = 1 - correct;
  const explored = outcome.exploredRisk === null ? 0 : 1;
  const onHit = outcome.kind === 'near-miss' ? 0 : 1;
  return {
    correct,
    wrong,
    explored,
    exploredRisk: outcome.exploredRisk ?? 0,
    exploredWrong: explored * wrong,
    hitsCorrect: onHit * correct,
    hitsWrong: onHit * wrong,
  };
}
