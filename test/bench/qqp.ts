/**
 * The labelled question pairs the quality benchmarks read, and the figures they report on them, in
 * one place so every benchmark counts a hit, a false hit and precision the same way.
 */
import { createReadStream, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { exactKeyText } from '@llm-cache/core';

/** One line of qqp-dev.jsonl: two questions and whether they ask the same thing. */
export interface Pair {
  a: string;
  b: string;
  duplicate: boolean;
}

const SHARED_PAIRS_FILE = resolve('../shared/data/qqp-dev.jsonl');
/** The first 1,000 pairs of the same file, kept in the repository so tiny runs work anywhere. */
const SLICE_PAIRS_FILE = resolve('test/fixtures/qqp-slice.jsonl');

/** $LLMCACHE_BENCH_DATA, else ../shared/data/qqp-dev.jsonl, else the committed slice (said on stderr). */
export const DEFAULT_PAIRS_FILE = process.env.LLMCACHE_BENCH_DATA ?? (existsSync(SHARED_PAIRS_FILE) ? SHARED_PAIRS_FILE : SLICE_PAIRS_FILE);
if (DEFAULT_PAIRS_FILE === SLICE_PAIRS_FILE) {
  process.stderr.write(`[bench] ${SHARED_PAIRS_FILE} not found: using the 1,000-pair slice ${SLICE_PAIRS_FILE}\n`);
}

/** The first `limit` pairs of a JSONL file. */
export async function readPairs(file: string, limit: number): Promise<Pair[]> {
  const pairs: Pair[] = [];
  for await (const line of createInterface({ input: createReadStream(file) })) {
    if (line.trim() === '') continue;
    pairs.push(JSON.parse(line) as Pair);
    if (pairs.length >= limit) break;
  }
  return pairs;
}

/**
 * Up to `wanted` pairs among the first `read` of a file whose two questions differ from each other and
 * from every other question taken, after the exact tier's normalization: looking up any of them never
 * gets an exact-tier answer from another.
 */
export async function distinctPairs(file: string, wanted: number, read = 40_000): Promise<Pair[]> {
  const seen = new Set<string>();
  const pairs: Pair[] = [];
  for (const pair of await readPairs(file, read)) {
    const [a, b] = [exactKeyText(pair.a), exactKeyText(pair.b)];
    if (a === '' || b === '' || seen.has(a) || seen.has(b) || a === b) continue;
    seen.add(a).add(b);
    pairs.push(pair);
    if (pairs.length === wanted) break;
  }
  return pairs;
}

/** The thresholds every quality table and curve shows, the default among them. */
export function qualityThresholds(defaultThreshold: number): number[] {
  const thresholds = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.82, 0.84, 0.85, 0.86, 0.88, 0.9, 0.92, 0.94, 0.96, 0.98, 0.99];
  if (!thresholds.includes(defaultThreshold)) thresholds.push(defaultThreshold);
  return thresholds.sort((x, y) => x - y);
}

/** The best score question b got, and whether a and b are duplicates. */
export interface ScoredLookup {
  score: number;
  duplicate: boolean;
  /**
   * Whether the best-scoring entry is this pair's own question a. A cache holding many questions
   * can answer b from some other entry: that hit serves another question's answer, so it counts as
   * a false hit even for a duplicate pair. Absent when b was only ever compared with its own a.
   */
  ownEntry?: boolean;
}

export interface QualityRow {
  threshold: number;
  /** Duplicates answered with their own pair's answer. */
  hitRate: number;
  /** Non-duplicates answered at all. */
  falseHitRate: number;
  /** Correct hits among all hits. */
  precision: number;
  f1: number;
  /** F0.5 weighs precision twice as much as recall: a false hit serves a wrong answer, a miss costs one call. */
  fHalf: number;
  isDefault: boolean;
}

/** Hit rate, false-hit rate, precision, F1 and F0.5 of `lookups` at each threshold. */
export function qualityRows(lookups: readonly ScoredLookup[], thresholds: readonly number[], defaultThreshold: number): QualityRow[] {
  const duplicates = lookups.filter((s) => s.duplicate).length;
  const others = lookups.length - duplicates;
  return thresholds.map((threshold) => {
    let truePositive = 0;
    let falsePositive = 0;
    let otherHits = 0;
    for (const s of lookups) {
      if (s.score < threshold) continue;
      if (s.duplicate && s.ownEntry !== false) truePositive += 1;
      else falsePositive += 1;
      if (!s.duplicate) otherHits += 1;
    }
    const hitRate = duplicates === 0 ? 0 : truePositive / duplicates;
    const falseHitRate = others === 0 ? 0 : otherHits / others;
    const precision = truePositive + falsePositive === 0 ? 1 : truePositive / (truePositive + falsePositive);
    const f1 = precision + hitRate === 0 ? 0 : (2 * precision * hitRate) / (precision + hitRate);
    const fHalf = precision + hitRate === 0 ? 0 : (1.25 * precision * hitRate) / (0.25 * precision + hitRate);
    return { threshold, hitRate, falseHitRate, precision, f1, fHalf, isDefault: threshold === defaultThreshold };
  });
}

/** A fraction as a percentage padded to 7 characters, the way the quality tables print it. */
export const pct = (x: number): string => `${(100 * x).toFixed(1)}%`.padStart(7);
