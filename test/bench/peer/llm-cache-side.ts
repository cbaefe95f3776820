/**
 * LLM-Cache's side of the GPTCache comparison, on the same job: in-process through the library
 * (startEmbedded, then the gateway's own lookup: embed, search, decide over the in-process bus) and,
 * for context, over HTTP against the CLI in a child process. The exact-repeat tier is off in both, so
 * every lookup is embedded and searched, as in GPTCache.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@llm-cache/config';
import { normalizeText } from '@llm-cache/core';
import { startEmbedded } from '@llm-cache/runtime';
import { postJson, startCacheProcess } from '../../helpers/cache-process.ts';
import type { PeerJob } from './python-peer.ts';

/** A run of lookups: per-lookup latency and answer (null for a miss), in lookup order. */
export interface LookupPass {
  seconds: number;
  latenciesMs: number[];
  answers: Array<string | null>;
}

export interface InProcessResult {
  stored: number;
  storeSeconds: number;
  timed: LookupPass;
  /** Lookups that waited out the lookup timeout and were answered as misses. */
  degraded: number;
  /** At threshold 0: the best score of each lookup and the answer of that entry. */
  quality: Array<{ score: number; answer: string | null }>;
}

const progress = (label: string, done: number, total: number): void => {
  if (done % 500 === 0 || done === total) process.stderr.write(`[llm-cache] ${label} ${done}/${total}\n`);
};

function scratchDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'llm-cache-peer-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function measureInProcess(job: PeerJob): Promise<InProcessResult> {
  const scratch = scratchDir();
  const config = loadConfig({
    env: {},
    overrides: { dataDir: scratch.dir, port: 0, logLevel: 'warn', exactTier: { enabled: false }, embedding: { modelDir: job.modelDir } },
  });
  const running = await startEmbedded(config);
  try {
    const cache = running.gateway.cache;
    const resolve = (text: string) =>
      cache.resolve({
        tenant: config.defaultTenant,
        namespace: config.defaultNamespace,
        model: config.defaultModel,
        params: {},
        contextHash: '',
        text: normalizeText(text),
      });
    process.stderr.write(`[llm-cache] storing ${job.entries.length} texts in process (SQLite + in-memory index in ${scratch.dir})\n`);
    let started = performance.now();
    for (const [i, entry] of job.entries.entries()) {
      await cache.store(resolve(entry.question), { requestId: randomUUID(), response: entry.answer, tags: [], wait: true });
      progress('stored', i + 1, job.entries.length);
    }
    const storeSeconds = (performance.now() - started) / 1000;
    const stored = await running.stores.vectors.count();

    for (const text of job.lookups.slice(0, job.warmup)) await cache.lookup(resolve(text), { requestId: randomUUID() });
    process.stderr.write(`[llm-cache] timed pass: ${job.lookups.length} lookups at threshold ${job.threshold}\n`);
    const timed: LookupPass = { seconds: 0, latenciesMs: [], answers: [] };
    let degraded = 0;
    started = performance.now();
    for (const [i, text] of job.lookups.entries()) {
      const t0 = performance.now();
      const result = await cache.lookup(resolve(text), { requestId: randomUUID(), threshold: job.threshold });
      timed.latenciesMs.push(performance.now() - t0);
      timed.answers.push(result.hit ? result.response : null);
      if (!result.hit && result.degraded) degraded += 1;
      progress('looked up', i + 1, job.lookups.length);
    }
    timed.seconds = (performance.now() - started) / 1000;

    process.stderr.write(
      `[llm-cache] quality pass: ${job.lookups.length} lookups at threshold 0 (every lookup returns its nearest entry)\n`,
    );
    const quality: InProcessResult['quality'] = [];
    for (const [i, text] of job.lookups.entries()) {
      const result = await cache.lookup(resolve(text), { requestId: randomUUID(), threshold: 0 });
      quality.push({ score: result.score, answer: result.hit ? result.response : null });
      if (!result.hit && result.degraded) degraded += 1;
      progress('scored', i + 1, job.lookups.length);
    }
    return { stored, storeSeconds, timed, degraded, quality };
  } finally {
    await running.close();
    scratch.remove();
  }
}

/** Sends every lookup once, `concurrency` at a time, each connection taking the next lookup in turn. */
async function httpPass(url: string, lookups: string[], threshold: number, concurrency: number): Promise<LookupPass> {
  const pass: LookupPass = {
    seconds: 0,
    latenciesMs: new Array<number>(lookups.length),
    answers: new Array<string | null>(lookups.length),
  };
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < lookups.length; i = next++) {
        const t0 = performance.now();
        const reply = await postJson(`${url}/v1/cache/lookup`, { prompt: lookups[i], threshold });
        pass.latenciesMs[i] = performance.now() - t0;
        if (reply.status !== 200) throw new Error(`lookup answered ${reply.status}: ${JSON.stringify(reply.body)}`);
        pass.answers[i] = reply.body.hit ? (reply.body.response as string) : null;
      }
    }),
  );
  pass.seconds = (performance.now() - started) / 1000;
  return pass;
}

/** The same lookups over HTTP, one connection and then `connections`, against `llm-cache start`. */
export async function measureHttp(job: PeerJob, connections: number): Promise<Array<{ connections: number; pass: LookupPass }>> {
  const scratch = scratchDir();
  process.stderr.write('[llm-cache] starting the CLI (embedded mode) in a child process\n');
  const child = await startCacheProcess({
    LLMCACHE_DATA_DIR: scratch.dir,
    LLMCACHE_LOG_LEVEL: 'warn',
    LLMCACHE_EXACT_TIER_ENABLED: 'false',
    LLMCACHE_EMBEDDING_MODEL_DIR: job.modelDir,
  });
  try {
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = next++; i < job.entries.length; i = next++) {
          const entry = job.entries[i] as PeerJob['entries'][number];
          const reply = await postJson(`${child.url}/v1/cache/entries?wait=true`, { prompt: entry.question, response: entry.answer });
          if (reply.status !== 201) throw new Error(`store answered ${reply.status}: ${JSON.stringify(reply.body)}`);
          progress('stored over HTTP', i + 1, job.entries.length);
        }
      }),
    );
    for (const text of job.lookups.slice(0, job.warmup)) await postJson(`${child.url}/v1/cache/lookup`, { prompt: text });
    const passes: Array<{ connections: number; pass: LookupPass }> = [];
    for (const n of [1, connections]) {
      process.stderr.write(`[llm-cache] HTTP pass: ${job.lookups.length} lookups, ${n} connection(s)\n`);
      passes.push({ connections: n, pass: await httpPass(child.url, job.lookups, job.threshold, n) });
    }
    return passes;
  } finally {
    await child.stop();
    scratch.remove();
  }
}
