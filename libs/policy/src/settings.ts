import type { PolicyName } from './types.ts';

/** The parameters a namespace may set; the configuration's `decision` has this shape. */
export interface DecisionFields {
  policy: PolicyName;
  maxFalseHitRate: number;
  confidence: number;
  minScore: number;
  verifySampleRate: number;
  explorationFloor: number;
}

/** The configured decision settings: defaults plus per-namespace overrides. */
export interface DecisionSettings extends DecisionFields {
  namespaces: Record<string, Partial<DecisionFields>>;
}

/** The settings in force in one namespace (its overrides over the defaults). */
export function settingsFor(settings: DecisionSettings, namespace: string): DecisionFields {
  const { namespaces, ...defaults } = settings;
  const own = namespaces[namespace] ?? {};
  const defined = Object.fromEntries(Object.entries(own).filter(([, value]) => value !== undefined)) as Partial<DecisionFields>;
  return { ...defaults, ...defined };
}

/** The policy of a namespace: its own, else the default (what settingsFor gives, without the copy). */
export const policyOf = (settings: DecisionSettings, namespace: string): PolicyName =>
  settings.namespaces[namespace]?.policy ?? settings.policy;

/** Settings with every namespace on the static policy (what a matcher without configuration uses). */
export const STATIC_DECISIONS: DecisionSettings = {
  policy: 'static',
  maxFalseHitRate: 0.02,
  confidence: 0.95,
  minScore: 0.5,
  verifySampleRate: 1,
  explorationFloor: 0.01,
  namespaces: {},
};
