/**
 * LLM-Cache next to GPTCache in one run, on this machine, with the same data and the same embedding
 * model file: both caches store question a of every pair, then look up every question b one at a time.
 * Reports lookups/s and p50/p99 of in-process lookups (LLM-Cache through its library, GPTCache through
 * its `get`), and hit quality from the answer each lookup got: a duplicate answered with its own
 * pair's answer is a correct hit, any other answer is a false hit. LLM-Cache over HTTP is measured in
 * the same run for context. GPTCache runs in a Python virtualenv under ~/.cache/llm-cache/venvs
 * (created on first use). Usage:
 *   npm run bench:peer -- [--limit 1000] [--data ../shared/data/qqp-dev.jsonl] [--connections 16]
 *                         [--warmup 20] [--venv DIR] [--python python3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '@llm-cache/config';
import { normalizeText } from '@llm-cache/core';
import { defaultModelDir, ensureModel } from '@llm-cache/embedding';
import { percentile, writeResults } from './lib.ts';
import { measureHttp, measureInProcess, type LookupPass } from './peer/llm-cache-side.ts';
import { defaultVenvDir, ensurePeerPython, runPeer, type PeerJob } from './peer/python-peer.ts';
import { writePlot } from './plot.ts';
import { DEFAULT_PAIRS_FILE, pct, qualityRows, qualityThresholds, readPairs, type QualityRow, type ScoredLookup } from './qqp.ts';

const { values } = parseArgs({
  options: {
    limit: { type: 'string', default: '1000' },
    data: { type: 'string', default: DEFAULT_PAIRS_FILE },
    connections: { type: 'string', default: '16' },
    warmup: { type: 'string', default: '20' },
    venv: { type: 'string', default: defaultVenvDir() },
    python: { type: 'string', default: 'python3' },
  },
});

interface SystemRow {
  name: string;
  /** The name on the throughput chart, short enough for an axis label. */
  label: string;
  lookupsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  atDefault: QualityRow;
}

try {
  // The peer goes first: if GPTCache cannot be installed there is nothing to compare against.
  const venvPython = await ensurePeerPython(values.venv, values.python);
  const modelDir = await ensureModel({ dir: defaultModelDir(), fetch: true, log: (line) => process.stderr.write(`${line}\n`) });
  const pairs = await readPairs(values.data, Number(values.limit));
  const duplicates = pairs.filter((p) => p.duplicate).length;
  process.stderr.write(`[peer] ${pairs.length} pairs (${duplicates} duplicates) from ${values.data}\n`);

  // Each distinct question a is stored once; its answer names it, so an answer tells which entry matched.
  const entryOfText = new Map<string, number>();
  const entries: PeerJob['entries'] = [];
  const ownEntry = pairs.map((pair) => {
    const key = normalizeText(pair.a);
    let index = entryOfText.get(key);
    if (index === undefined) {
      index = entries.length;
      entryOfText.set(key, index);
      entries.push({ question: pair.a, answer: `entry-${index}` });
    }
    return `entry-${index}`;
  });
  const defaultThreshold = loadConfig({ env: {} }).threshold;
  const thresholds = qualityThresholds(defaultThreshold);
  const peerDir = mkdtempSync(join(tmpdir(), 'gptcache-peer-'));
  const job: PeerJob = {
    modelDir,
    dataDir: peerDir,
    entries,
    lookups: pairs.map((p) => p.b),
    threshold: defaultThreshold,
    thresholds,
    warmup: Number(values.warmup),
  };

  const ours = await measureInProcess(job);
  let peer;
  try {
    peer = await runPeer(venvPython, job);
  } finally {
    rmSync(peerDir, { recursive: true, force: true });
  }
  const http = await measureHttp(job, Number(values.connections));

  const scored = (answers: Array<string | null>, scores?: number[]): ScoredLookup[] =>
    answers.map((answer, i) => ({
      // Without scores, a pass's own hit or miss stands as a score of 1 or 0.
      score: scores ? (scores[i] as number) : answer === null ? 0 : 1,
      duplicate: (pairs[i] as { duplicate: boolean }).duplicate,
      ownEntry: answer === ownEntry[i],
    }));
  const atDefault = (pass: LookupPass): QualityRow => qualityRows(scored(pass.answers), [1], 1)[0] as QualityRow;
  const summarize = (name: string, label: string, pass: LookupPass): SystemRow => {
    const sorted = [...pass.latenciesMs].sort((x, y) => x - y);
    return {
      name,
      label,
      lookupsPerSecond: pass.latenciesMs.length / pass.seconds,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      atDefault: atDefault(pass),
    };
  };
  const rows: SystemRow[] = [
    summarize('LLM-Cache, in process (library)', 'LLM-Cache', ours.timed),
    summarize(`GPTCache ${peer.versions['gptcache']}, in process (get)`, 'GPTCache', peer.timed),
    ...http.map(({ connections, pass }) => summarize(`LLM-Cache over HTTP, ${connections} conn.`, `LLM-Cache HTTP x${connections}`, pass)),
  ];
  const oursCurve = qualityRows(
    scored(
      ours.quality.map((q) => q.answer),
      ours.quality.map((q) => q.score),
    ),
    thresholds,
    defaultThreshold,
  );
  const peerCurve = qualityRows(
    scored(
      peer.quality.map((q) => q.answer),
      peer.quality.map((q) => q.score),
    ),
    thresholds,
    defaultThreshold,
  );

  // The same model file on both sides should give the same scores; this says how close they are.
  const deltas = ours.quality.map((q, i) => Math.abs(q.score - (peer.quality[i]?.score ?? NaN)));
  const agreement = {
    meanAbsScoreDelta: deltas.reduce((sum, d) => sum + d, 0) / deltas.length,
    maxAbsScoreDelta: Math.max(...deltas),
    sameNearestEntry: ours.quality.filter((q, i) => q.answer === peer.quality[i]?.answer).length,
  };
  // The quality pass (threshold 0) must agree with each system's own decisions at the default.
  const disagreements = (timed: Array<string | null>, quality: Array<{ score: number; answer: string | null }>): number =>
    timed.filter((answer, i) => {
      const q = quality[i] as { score: number; answer: string | null };
      return (answer !== null) !== q.score >= defaultThreshold || (answer !== null && answer !== q.answer);
    }).length;
  const checks = { ours: disagreements(ours.timed.answers, ours.quality), gptcache: disagreements(peer.timed.answers, peer.quality) };

  const n = pairs.length;
  console.log(
    `\nLLM-Cache and GPTCache side by side: ${n} pairs (${duplicates} duplicates) from ${values.data}; ` +
      `${ours.stored} questions stored (GPTCache: ${peer.stored}), ${n} lookups one at a time, threshold ${defaultThreshold}, ` +
      `both on all-MiniLM-L6-v2 (quantized ONNX, 1 thread)`,
  );
  console.log('system                                   lookups/s   p50 ms   p99 ms  hit rate  false hits  precision     F1');
  for (const r of rows) {
    const q = r.atDefault;
    console.log(
      `${r.name.padEnd(40)} ${r.lookupsPerSecond.toFixed(0).padStart(9)} ${r.p50Ms.toFixed(2).padStart(8)} ${r.p99Ms.toFixed(2).padStart(8)}  ${pct(q.hitRate)}    ${pct(q.falseHitRate)}    ${pct(q.precision)}  ${q.f1.toFixed(3).padStart(5)}`,
    );
  }
  console.log(
    `store: LLM-Cache ${(entries.length / ours.storeSeconds).toFixed(0)} texts/s, GPTCache ${(entries.length / peer.storeSeconds).toFixed(0)} texts/s; ` +
      `best-score difference mean ${agreement.meanAbsScoreDelta.toExponential(1)}, max ${agreement.maxAbsScoreDelta.toExponential(1)}; ` +
      `same nearest entry for ${agreement.sameNearestEntry}/${n} lookups`,
  );
  const steps = Object.entries(peer.timed.stepsMs).map(([step, ms]) => `${step} ${ms.toFixed(2)}`);
  console.log(`GPTCache's own mean ms per step of get(): ${steps.join(', ')}`);
  if (ours.degraded > 0) console.log(`warning: ${ours.degraded} LLM-Cache lookups timed out and were answered as misses`);
  if (checks.ours + checks.gptcache > 0) {
    console.log(`warning: timed and quality passes disagree on ${checks.ours} LLM-Cache and ${checks.gptcache} GPTCache lookups`);
  }

  console.log('\nQuality curve (hit rate on duplicates / false hits on non-duplicates / precision / F1)');
  console.log('threshold  LLM-Cache                              GPTCache');
  for (const [i, o] of oursCurve.entries()) {
    const g = peerCurve[i] as QualityRow;
    const cell = (q: QualityRow): string => `${pct(q.hitRate)} ${pct(q.falseHitRate)} ${pct(q.precision)}  ${q.f1.toFixed(3)}`;
    console.log(`${o.threshold.toFixed(2).padStart(9)}  ${cell(o)}    ${cell(g)}${o.isDefault ? '  <- default' : ''}`);
  }

  writeResults('gptcache-peer.json', {
    data: values.data,
    pairs: n,
    duplicates,
    stored: { llmCache: ours.stored, gptcache: peer.stored },
    storeSeconds: { llmCache: ours.storeSeconds, gptcache: peer.storeSeconds },
    defaultThreshold,
    rows,
    curves: { llmCache: oursCurve, gptcache: peerCurve },
    agreement,
    passDisagreements: checks,
    degradedLookups: ours.degraded,
    gptcache: { versions: peer.versions, config: peer.config, stepsMs: peer.timed.stepsMs },
  });
  const sameCurves = oursCurve.every((o, i) => o.hitRate === peerCurve[i]?.hitRate && o.falseHitRate === peerCurve[i]?.falseHitRate);
  const curve = (name: string, points: QualityRow[], pick: (q: QualityRow) => number) => ({
    name,
    points: points.map((q): [number, number] => [q.threshold, pick(q)]),
  });
  await writePlot('gptcache-peer-quality.svg', {
    title: `Hit quality in a cache of ${ours.stored} questions, ${n} lookups (QQP)${sameCurves ? ': the curves coincide' : ''}`,
    xLabel: 'threshold',
    yLabel: 'hit rate on duplicates, false hits on non-duplicates',
    series: [
      curve('LLM-Cache hit rate', oursCurve, (q) => q.hitRate),
      curve('GPTCache hit rate', peerCurve, (q) => q.hitRate),
      curve('LLM-Cache false hits', oursCurve, (q) => q.falseHitRate),
      curve('GPTCache false hits', peerCurve, (q) => q.falseHitRate),
    ],
    markX: { value: defaultThreshold, label: `default ${defaultThreshold}` },
  });
  await writePlot('gptcache-peer-throughput.svg', {
    title: `Lookups per second, ${n} distinct lookups, same model`,
    kind: 'bar',
    xLabel: 'system',
    yLabel: 'lookups/s',
    series: [{ name: 'lookups/s', points: rows.map((r): [string, number] => [r.label, r.lookupsPerSecond]) }],
  });
} catch (error) {
  console.error(`\n${(error as Error).message}`);
  process.exitCode = 1;
}
