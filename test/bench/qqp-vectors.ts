/**
 * Embeddings of the QQP questions, computed once with the local model and kept on disk under
 * ~/.cache/llm-cache/bench, so a benchmark rerun (or a larger --limit) only embeds what is new.
 * Vectors are stored for the distinct normalized questions in order of first appearance, which makes
 * the file for a short prefix of the pairs a prefix of the file for all of them.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { normalizeText } from '@llm-cache/core';
import { defaultModelDir, ensureModel, OnnxEmbedder } from '@llm-cache/embedding';
import type { Pair } from './qqp.ts';

/** Distinct questions of a pair list and, for every pair, the index of its a and b among them. */
export interface QuestionIndex {
  texts: string[];
  a: number[];
  b: number[];
}

export function indexQuestions(pairs: readonly Pair[]): QuestionIndex {
  const indexOf = new Map<string, number>();
  const texts: string[] = [];
  const idOf = (raw: string): number => {
    const text = normalizeText(raw);
    let id = indexOf.get(text);
    if (id === undefined) {
      id = texts.length;
      indexOf.set(text, id);
      texts.push(text);
    }
    return id;
  };
  const a: number[] = [];
  const b: number[] = [];
  for (const pair of pairs) {
    a.push(idOf(pair.a));
    b.push(idOf(pair.b));
  }
  return { texts, a, b };
}

interface CacheHeader {
  model: string;
  dimensions: number;
  /** Hash of every text the file is for, so a changed data file never reuses stale vectors. */
  textsHash: string;
  /** How many of them (a prefix) have their vector in the file. */
  count: number;
}

const hashTexts = (texts: readonly string[]): string => {
  const hash = createHash('sha256');
  for (const text of texts) hash.update(text).update('\n');
  return hash.digest('hex');
};

/** `~/.cache/llm-cache/bench`, or `$LLMCACHE_BENCH_CACHE_DIR`. */
export function benchCacheDir(): string {
  return process.env['LLMCACHE_BENCH_CACHE_DIR'] || join(homedir(), '.cache', 'llm-cache', 'bench');
}

/**
 * Unit vectors (row-major, `needed x dimensions`) of the first `needed` of `texts` from the local
 * ONNX model, read from the on-disk cache where it already holds them; `name` tells the cache files
 * of different data sets apart.
 */
export async function embedQuestions(
  name: string,
  texts: readonly string[],
  needed: number,
  log: (line: string) => void,
): Promise<{ vectors: Float32Array; dimensions: number }> {
  const dir = benchCacheDir();
  mkdirSync(dir, { recursive: true });
  const headerFile = join(dir, `${name}.json`);
  const dataFile = join(dir, `${name}.f32`);
  const textsHash = hashTexts(texts);
  let header: CacheHeader | null =
    existsSync(headerFile) && existsSync(dataFile) ? (JSON.parse(readFileSync(headerFile, 'utf8')) as CacheHeader) : null;
  if (header?.textsHash !== textsHash) header = null;
  if (header === null || header.count < needed) {
    const modelDir = await ensureModel({ dir: defaultModelDir(), fetch: true, log });
    const embedder = await OnnxEmbedder.create({ modelDir });
    try {
      if (header && (header.model !== embedder.fingerprint || header.dimensions !== embedder.dimensions)) header = null;
      if (header === null) {
        writeFileSync(dataFile, Buffer.alloc(0));
        header = { model: embedder.fingerprint, dimensions: embedder.dimensions, textsHash, count: 0 };
        writeFileSync(headerFile, JSON.stringify(header));
      }
      log(`[vectors] ${header.count}/${needed} questions cached in ${dataFile}; embedding the rest`);
      const started = Date.now();
      const first = header.count;
      const CHUNK = 512;
      for (let from = header.count; from < needed; from += CHUNK) {
        const chunk = texts.slice(from, Math.min(needed, from + CHUNK));
        const vectors = await embedder.embed(chunk);
        const dims = header.dimensions;
        const out = new Float32Array(chunk.length * dims);
        vectors.forEach((v, i) => out.set(v, i * dims));
        appendFileSync(dataFile, Buffer.from(out.buffer, out.byteOffset, out.byteLength));
        header = { ...header, count: from + chunk.length };
        writeFileSync(headerFile, JSON.stringify(header));
        const rate = (header.count - first) / Math.max(0.001, (Date.now() - started) / 1000);
        log(`[vectors] embedded ${header.count}/${needed} questions (${rate.toFixed(0)}/s)`);
      }
    } finally {
      await embedder.close();
    }
  }
  const dimensions = header.dimensions;
  const bytes = readFileSync(dataFile);
  const all = new Float32Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.byteLength / 4));
  return { vectors: all.slice(0, needed * dimensions), dimensions };
}
