/**
 * Hit quality on labelled question pairs: for each threshold, how often a duplicate would be answered
 * from the cache (hit rate), how often a non-duplicate would get the other question's answer (false-hit
 * rate), precision and F1. Usage:
 *   npm run bench:quality -- [--data ../shared/data/qqp-dev.jsonl] [--limit 4000] [--out bench-results]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '@llm-cache/config';
import { defaultModelDir, ensureModel, OnnxEmbedder } from '@llm-cache/embedding';
import { writePlot } from './plot.ts';
import { DEFAULT_PAIRS_FILE, pct, qualityRows, qualityThresholds, readPairs, type ScoredLookup } from './qqp.ts';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: DEFAULT_PAIRS_FILE },
    limit: { type: 'string', default: '4000' },
    out: { type: 'string', default: 'bench-results' },
  },
});

const pairs = await readPairs(values.data, Number(values.limit));
process.stderr.write(`[quality] ${pairs.length} pairs from ${values.data}\n`);
const embedder = await OnnxEmbedder.create({
  modelDir: await ensureModel({ dir: defaultModelDir(), fetch: true, log: (l) => process.stderr.write(`${l}\n`) }),
});
const scores: ScoredLookup[] = [];
const started = Date.now();
const BATCH = 64;
for (let i = 0; i < pairs.length; i += BATCH) {
  const slice = pairs.slice(i, i + BATCH);
  const vectors = await embedder.embed(slice.flatMap((p) => [p.a, p.b]));
  slice.forEach((pair, j) => {
    const a = vectors[2 * j] as Float32Array;
    const b = vectors[2 * j + 1] as Float32Array;
    let dot = 0;
    for (let d = 0; d < a.length; d++) dot += (a[d] as number) * (b[d] as number);
    scores.push({ score: Math.max(0, Math.min(1, dot)), duplicate: pair.duplicate });
  });
  if ((i / BATCH) % 10 === 0) process.stderr.write(`[quality] embedded ${Math.min(i + BATCH, pairs.length)}/${pairs.length} pairs\n`);
}
await embedder.close();
const seconds = (Date.now() - started) / 1000;

const defaultThreshold = loadConfig({ env: {} }).threshold;
const thresholds = qualityThresholds(defaultThreshold);
const duplicates = scores.filter((s) => s.duplicate).length;
const rows = qualityRows(scores, thresholds, defaultThreshold);

console.log(
  `\nHit quality, ${pairs.length} pairs (${duplicates} duplicates) from ${values.data}, all-MiniLM-L6-v2 (quantized), ${((2 * pairs.length) / seconds).toFixed(0)} texts/s`,
);
console.log('threshold  hit rate  false hits  precision      F1    F0.5');
for (const row of rows) {
  console.log(
    `${row.threshold.toFixed(2).padStart(9)}  ${pct(row.hitRate)}    ${pct(row.falseHitRate)}    ${pct(row.precision)}  ${row.f1.toFixed(3).padStart(6)}  ${row.fHalf.toFixed(3).padStart(6)}${row.isDefault ? '  <- default' : ''}`,
  );
}
mkdirSync(values.out, { recursive: true });
const file = resolve(values.out, 'hit-quality.json');
writeFileSync(file, JSON.stringify({ data: values.data, pairs: pairs.length, duplicates, defaultThreshold, rows }, null, 2));
console.log(`\nwrote ${file}`);
await writePlot('hit-quality.svg', {
  title: `Hit quality vs threshold (${pairs.length} labelled pairs)`,
  xLabel: 'similarity threshold',
  yLabel: 'rate',
  markX: { value: defaultThreshold, label: `default ${defaultThreshold}` },
  series: (
    [
      ['hit rate', (r) => r.hitRate],
      ['false-hit rate', (r) => r.falseHitRate],
      ['precision', (r) => r.precision],
      ['F1', (r) => r.f1],
    ] as Array<[string, (row: (typeof rows)[number]) => number]>
  ).map(([name, metric]) => ({ name, points: rows.map((r): [number, number] => [r.threshold, metric(r)]) })),
});
