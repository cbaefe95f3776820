import {
  countsFromCells,
  policyOf,
  settingsFor,
  VerifiedPolicy,
  type DecisionKind,
  type DecisionSettings,
  type PolicyName,
} from '@llm-cache/policy';
import type { OutcomeStore } from '@llm-cache/storage';
import type { Metrics } from '@llm-cache/telemetry';

/** How often a namespace's outcome counts are read back from the store. */
const REFRESH_MS = 1000;
/** Decisions the exploration-rate gauge looks back over. */
const RATE_WINDOW = 1000;

interface VerifiedNamespace {
  policy: VerifiedPolicy;
  readAt: number;
  reading: Promise<void> | undefined;
  recent: Uint8Array;
  next: number;
  seen: number;
  explored: number;
}

/**
 * The decision policy of every namespace this matcher serves: one static policy for all static
 * namespaces, and per (tenant, namespace) a verified policy whose budget lives here and whose
 * statistics are read back from the outcome store every second. Several matchers each keep their
 * own budget over the lookups they see, so together they stay within it.
 */
export class DecisionPolicies {
  private readonly verified = new Map<string, VerifiedNamespace>();

  constructor(
    private readonly settings: DecisionSettings,
    private readonly outcomes: OutcomeStore,
    private readonly metrics: Metrics,
  ) {}

  isVerified(namespace: string): boolean {
    return policyOf(this.settings, namespace) === 'verified';
  }

  /** The verified policy of a namespace, with statistics at most a second old. */
  async verifiedFor(tenant: string, namespace: string): Promise<VerifiedPolicy> {
    const key = JSON.stringify([tenant, namespace]);
    let state = this.verified.get(key);
    if (!state) {
      state = {
        policy: new VerifiedPolicy(settingsFor(this.settings, namespace)),
        readAt: 0,
        reading: undefined,
        recent: new Uint8Array(RATE_WINDOW),
        next: 0,
        seen: 0,
        explored: 0,
      };
      this.verified.set(key, state);
    }
    const current = state;
    if (Date.now() - current.readAt >= REFRESH_MS) {
      current.reading ??= this.outcomes
        .counts(tenant, namespace)
        .then((counts) => {
          current.policy.setCounts(countsFromCells(counts));
          current.readAt = Date.now();
        })
        .finally(() => {
          current.reading = undefined;
        });
      await current.reading;
    }
    return current.policy;
  }

  /** Counts a decision for the metrics. */
  count(tenant: string, namespace: string, policy: PolicyName, decision: DecisionKind): void {
    this.metrics.decisions.inc({ namespace, policy, decision });
    if (policy !== 'verified') return;
    const state = this.verified.get(JSON.stringify([tenant, namespace]));
    if (!state) return;
    const explored = decision === 'explore' ? 1 : 0;
    if (state.seen >= RATE_WINDOW) state.explored -= state.recent[state.next] ?? 0;
    state.recent[state.next] = explored;
    state.explored += explored;
    state.next = (state.next + 1) % RATE_WINDOW;
    state.seen = Math.min(RATE_WINDOW, state.seen + 1);
    this.metrics.explorationRate.set({ namespace }, state.explored / state.seen);
  }
}
