/** A hit more likely wrong than right is never worth serving, whatever budget is left. */
const MAX_RISK = 0.5;

export interface BudgetOptions {
  /** Wrong answers allowed per lookup, e.g. 0.02. */
  maxFalseHitRate: number;
  /** Recent lookups the allowance is chosen from (default 2000). */
  window?: number;
  /** Unspent budget carried over, in lookups' worth (default 500). */
  burst?: number;
  /** Lookups between two choices of the allowance (default 50). */
  refreshEvery?: number;
}

/**
 * A namespace's false-hit budget. Every lookup earns `maxFalseHitRate` (up to a burst) and a hit is
 * charged its risk, so the risks of the hits served never add up to more than the budget: the
 * expected share of lookups answered wrongly stays under `maxFalseHitRate` as long as the risks are
 * not underestimated. Which hits are worth their cost is set by the allowance, the largest risk a hit
 * may carry: the one at which answering the lowest-risk share of the recent lookups would spend the
 * budget exactly, and never more than even odds.
 */
export class FalseHitBudget {
  private readonly rate: number;
  private readonly risks: Float64Array;
  private readonly burst: number;
  private readonly refreshEvery: number;
  private size = 0;
  private next = 0;
  private sinceRefresh = 0;
  private tokens = 0;
  private current = 0;
  private lookups = 0;
  private charged = 0;

  constructor(options: BudgetOptions) {
    this.rate = options.maxFalseHitRate;
    this.risks = new Float64Array(options.window ?? 2000);
    this.burst = options.burst ?? 500;
    this.refreshEvery = options.refreshEvery ?? 50;
  }

  /** The largest risk a hit may carry now. */
  get allowance(): number {
    return this.current;
  }

  /** Risk charged per lookup so far: the expected false-hit rate if the risks are right. */
  get spentRate(): number {
    return this.lookups === 0 ? 0 : this.charged / this.lookups;
  }

  /** Counts one lookup whose answer from the cache would carry `risk`; true when the hit is affordable (and charges it). */
  tryCharge(risk: number): boolean {
    this.risks[this.next] = risk;
    this.next = (this.next + 1) % this.risks.length;
    this.size = Math.min(this.size + 1, this.risks.length);
    this.lookups += 1;
    this.tokens = Math.min(this.rate * this.burst, this.tokens + this.rate);
    this.sinceRefresh += 1;
    // While the window fills, every lookup re-chooses (a restarted matcher hits from its first lookups on).
    if (this.size < this.refreshEvery || this.sinceRefresh >= this.refreshEvery) this.refresh();
    if (risk > this.current || risk > MAX_RISK || risk > this.tokens) return false;
    this.tokens -= risk;
    this.charged += risk;
    return true;
  }

  private refresh(): void {
    this.sinceRefresh = 0;
    const sorted = this.risks.slice(0, this.size).sort();
    const budget = this.rate * this.size;
    let spent = 0;
    let allowance = 0;
    for (const risk of sorted) {
      spent += risk;
      if (spent > budget) break;
      allowance = risk;
    }
    this.current = allowance;
  }
}
