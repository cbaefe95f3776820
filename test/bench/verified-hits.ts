/**
 * Verified hits against the best single threshold, on the QQP pairs replayed as a cache's traffic
 * (see qqp-stream.ts): each pair stores question a, then looks up question b; a miss goes upstream
 * (the labels give its true answer) and is written back. The verified policy runs as the matcher
 * runs it, learning only from the outcomes it has verified so far; the static threshold is the best
 * one in hindsight: the one with the most duplicate hits among those within the budget on this
 * very stream. Figures are taken after a warm-up, over semantic lookups (a lookup whose exact
 * question was stored is the exact tier's, and no policy decides it). Usage:
 *   npm run bench:verified -- [--limit 40374] [--max-false-hit-rate 0.02] [--warmup 0.2] [--seeds 3]
 *                             [--data ../shared/data/qqp-dev.jsonl]
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '@llm-cache/config';
import { seededRandom, StaticPolicy, VerifiedPolicy } from '@llm-cache/policy';
import { formatTable, writeResults } from './lib.ts';
import { writePlot } from './plot.ts';
import { DEFAULT_PAIRS_FILE, pct, readPairs } from './qqp.ts';
import { buildStream, replay, type ReplayedLookup } from './qqp-stream.ts';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: DEFAULT_PAIRS_FILE },
    limit: { type: 'string', default: '40374' },
    'max-false-hit-rate': { type: 'string', default: '0.02' },
    warmup: { type: 'string', default: '0.2' },
    seeds: { type: 'string', default: '3' },
  },
});
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const budget = Number(values['max-false-hit-rate']);
const warmupShare = Number(values.warmup);
const seeds = Number(values.seeds);
if (!(budget > 0 && budget < 0.5) || !(warmupShare >= 0 && warmupShare < 1) || !(seeds >= 1)) {
  throw new Error('--max-false-hit-rate must be in (0, 0.5), --warmup in [0, 1), --seeds at least 1');
}

interface Figures {
  /** Semantic lookups after the warm-up. */
  lookups: number;
  duplicates: number;
  hits: number;
  wrongHits: number;
  /** Wrong hits / semantic lookups: the budget's definition. */
  falseHitRate: number;
  /** Wrong hits / hits. */
  wrongShareOfHits: number;
  /** Duplicate lookups answered from the cache with the right answer / duplicate lookups. */
  duplicateHitRate: number;
  explores: number;
  explorationRate: number;
  /** Lookups answered upstream (misses and explores) / semantic lookups. */
  upstreamRate: number;
  verifications: number;
  noCandidate: number;
}

function figuresOf(lookups: readonly ReplayedLookup[], warmup: number): Figures {
  const after = lookups.slice(warmup).filter((l) => !l.exact);
  const hits = after.filter((l) => l.kind === 'hit');
  const wrongHits = hits.filter((l) => !l.correct).length;
  const duplicates = after.filter((l) => l.duplicate).length;
  const explores = after.filter((l) => l.kind === 'explore').length;
  const n = Math.max(1, after.length);
  return {
    lookups: after.length,
    duplicates,
    hits: hits.length,
    wrongHits,
    falseHitRate: wrongHits / n,
    wrongShareOfHits: hits.length === 0 ? 0 : wrongHits / hits.length,
    duplicateHitRate: duplicates === 0 ? 0 : hits.filter((l) => l.correct && l.duplicate).length / duplicates,
    explores,
    explorationRate: explores / n,
    upstreamRate: (after.length - hits.length) / n,
    verifications: after.filter((l) => l.verify).length,
    noCandidate: after.filter((l) => l.noCandidate).length,
  };
}

/** The false-hit rate over a sliding window of semantic lookups, as plot points [lookup number, rate]. */
function rollingFalseHitRate(lookups: readonly ReplayedLookup[], window: number, every: number): Array<[number, number]> {
  const semantic = lookups.filter((l) => !l.exact);
  const wrong = semantic.map((l) => (l.kind === 'hit' && !l.correct ? 1 : 0));
  const points: Array<[number, number]> = [];
  let sum = 0;
  wrong.forEach((w, i) => {
    sum += w - (i >= window ? (wrong[i - window] ?? 0) : 0);
    if (i + 1 >= window && (i + 1) % every === 0) points.push([i + 1, sum / window]);
  });
  return points;
}

const all = await readPairs(values.data, Number.MAX_SAFE_INTEGER);
const limit = Math.min(all.length, Number(values.limit));
const stream = await buildStream('qqp-dev', all, limit, log);
const warmup = Math.floor(warmupShare * stream.pairs);
const config = loadConfig({ env: {} });
const decision = config.decision;
log(`[verified] ${stream.pairs} pairs, ${stream.questions} questions; warm-up: the first ${warmup} lookups`);

// The best single threshold in hindsight, under the same definition and on the same stream.
const staticPolicy = new StaticPolicy();
const sweep: Array<{ threshold: number; figures: Figures }> = [];
for (let t = 800; t <= 1000; t += 1) {
  const threshold = t / 1000;
  sweep.push({
    threshold,
    figures: figuresOf(
      replay(stream, (input) => staticPolicy.decide(input), threshold),
      warmup,
    ),
  });
}
const withinBudget = sweep.filter((s) => s.figures.falseHitRate <= budget);
const bestStatic = withinBudget.reduce(
  (best, s) => (s.figures.duplicateHitRate > best.figures.duplicateHitRate ? s : best),
  withinBudget[0] ?? sweep[sweep.length - 1]!,
);
const atDefault = sweep.find((s) => Math.abs(s.threshold - config.threshold) < 1e-9);
log(`[verified] best static threshold within ${budget}: ${bestStatic.threshold.toFixed(3)}`);

// The verified policy with the shipped defaults, one run per random seed.
const verifiedRuns = Array.from({ length: seeds }, (_, i) => {
  const seed = i + 1;
  const policy = new VerifiedPolicy({
    maxFalseHitRate: budget,
    confidence: decision.confidence,
    minScore: decision.minScore,
    verifySampleRate: decision.verifySampleRate,
    explorationFloor: decision.explorationFloor,
  });
  const random = seededRandom(seed);
  const started = Date.now();
  const lookups = replay(
    stream,
    (input) => policy.decide(input, random),
    config.threshold,
    (outcome, made) => policy.record({ ...outcome, level: made.level, ...(made.kind === 'explore' ? { exploredRisk: made.risk } : {}) }),
  );
  log(`[verified] seed ${seed}: replayed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { seed, lookups, figures: figuresOf(lookups, warmup), calibration: policy.statistics.calibration() };
});

const rows = [
  ...verifiedRuns.map((run) => ({ name: `verified (seed ${run.seed})`, figures: run.figures })),
  { name: `static ${bestStatic.threshold.toFixed(3)} (best within budget)`, figures: bestStatic.figures },
  ...(atDefault ? [{ name: `static ${atDefault.threshold.toFixed(3)} (default threshold)`, figures: atDefault.figures }] : []),
];
console.log(
  `\nVerified hits vs one threshold, QQP dev stream: ${stream.pairs} pairs from ${values.data}, budget maxFalseHitRate ${budget}`,
);
console.log(
  `warm-up: first ${warmup} lookups (${(100 * warmupShare).toFixed(0)}%) left out; figures over the ${rows[0]?.figures.lookups ?? 0} semantic lookups after it`,
);
console.log('false-hit rate = wrong hits / semantic lookups; dup hit rate = duplicates answered right from the cache / duplicates');
console.log(
  formatTable(
    ['policy', 'false-hit', 'wrong/hits', 'dup hit rate', 'hits', 'explored', 'upstream', 'verified'],
    rows.map(({ name, figures: f }) => [
      name,
      ...[f.falseHitRate, f.wrongShareOfHits, f.duplicateHitRate].map((x) => pct(x).trim()),
      String(f.hits),
      ...[f.explorationRate, f.upstreamRate].map((x) => pct(x).trim()),
      String(f.verifications),
    ]),
  ),
);
const worst = verifiedRuns.reduce((w, r) => Math.max(w, r.figures.falseHitRate), 0);
const weakest = verifiedRuns.reduce((w, r) => Math.min(w, r.figures.duplicateHitRate), 1);
console.log(
  `\nverified, all seeds: false-hit rate <= ${pct(worst).trim()} (budget ${pct(budget).trim()}), dup hit rate >= ${pct(weakest).trim()} vs ${pct(bestStatic.figures.duplicateHitRate).trim()} for the best static threshold`,
);
if (stream.labelConflicts > 0)
  console.log(`${stream.labelConflicts} non-duplicate pairs are joined by other duplicate labels (the pair's label wins)`);

writeResults('verified-hits.json', {
  data: values.data,
  pairs: stream.pairs,
  questions: stream.questions,
  maxFalseHitRate: budget,
  warmupLookups: warmup,
  definitions: {
    falseHitRate: 'wrong hits / semantic lookups after the warm-up',
    wrongShareOfHits: 'wrong hits / hits',
    duplicateHitRate: 'duplicate lookups answered from the cache with the right answer / duplicate lookups',
  },
  decisionConfig: { ...decision, maxFalseHitRate: budget },
  verified: verifiedRuns.map((run) => ({ seed: run.seed, calibration: run.calibration, ...run.figures })),
  bestStatic: { threshold: bestStatic.threshold, ...bestStatic.figures },
  staticSweep: sweep.map((s) => ({ threshold: s.threshold, ...s.figures })),
  labelConflicts: stream.labelConflicts,
});
const firstRun = verifiedRuns[0];
const window = Math.min(2000, Math.max(100, Math.floor(stream.pairs / 10)));
const every = Math.max(10, Math.floor(window / 4));
await writePlot('verified-hits-false-hit-rate.svg', {
  title: `Rolling false-hit rate (window ${window} lookups), QQP dev stream, budget ${budget}`,
  xLabel: 'semantic lookup',
  yLabel: 'wrong hits / lookups',
  series: [
    ...(firstRun ? [{ name: `verified (seed ${firstRun.seed})`, points: rollingFalseHitRate(firstRun.lookups, window, every) }] : []),
    {
      name: `static ${bestStatic.threshold.toFixed(3)}`,
      points: rollingFalseHitRate(
        replay(stream, (input) => staticPolicy.decide(input), bestStatic.threshold),
        window,
        every,
      ),
    },
    { name: 'budget', points: [[window, budget] as [number, number], [Math.max(window + 1, stream.pairs), budget] as [number, number]] },
  ],
  ...(firstRun ? { markX: { value: firstRun.lookups.slice(0, warmup).filter((l) => !l.exact).length, label: 'end of warm-up' } } : {}),
});
await writePlot('verified-hits-frontier.svg', {
  title: `Duplicates answered vs false-hit rate after warm-up, QQP dev stream (${stream.pairs} pairs)`,
  xLabel: 'false-hit rate (wrong hits / lookups)',
  yLabel: 'dup hit rate',
  series: [
    {
      name: 'static thresholds',
      points: sweep
        .filter((s) => s.threshold >= 0.9 && Math.round(s.threshold * 1000) % 5 === 0)
        .map((s) => [s.figures.falseHitRate, s.figures.duplicateHitRate]),
    },
    ...verifiedRuns.map((run) => ({
      name: `verified (seed ${run.seed})`,
      points: [[run.figures.falseHitRate, run.figures.duplicateHitRate] as [number, number]],
    })),
  ],
  markX: { value: budget, label: `budget ${budget}` },
});
