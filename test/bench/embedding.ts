/**
 * Embedding throughput of LLM-Cache's pipeline against onnxruntime-node running the same model file
 * directly, on the same texts, in the same run. Raw: pre-tokenized, pre-built padded tensors of
 * `batch` texts, only `session.run` timed (tokenizing, pooling and normalizing excluded: the
 * ceiling). Ours: `OnnxEmbedder.embed([text])` called concurrently for every text, as the embedder
 * service calls it, so its Batcher groups up to `batch` texts (tokenizing, pooling and normalizing
 * included), with the default per-text model runs and with `padBatches`. Service: the embedder
 * service over the in-process bus, request events in, embedded events (Avro, the vector included)
 * out. The overhead is ours / raw in time per text, in wall time and in the process's CPU time (which
 * other load on a shared machine disturbs much less). Usage:
 *   npm run bench:embedding -- [--limit 1024] [--batch-sizes 1,8,32] [--rounds 3] [--data ../shared/data/qqp-dev.jsonl]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { MemoryBus } from '@llm-cache/bus';
import { TOPICS, type CacheRequestEvent } from '@llm-cache/codec';
import { startEmbedder } from '@llm-cache/embedder';
import { cosine, defaultModelDir, ensureModel, MODEL_FILE, OnnxEmbedder } from '@llm-cache/embedding';
import { createLogger, Metrics } from '@llm-cache/telemetry';
import { formatTable, runBenchmark, writeResults } from './lib.ts';
import { writePlot } from './plot.ts';
import { DEFAULT_PAIRS_FILE, readPairs } from './qqp.ts';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: DEFAULT_PAIRS_FILE },
    limit: { type: 'string', default: '1024' },
    'batch-sizes': { type: 'string', default: '1,8,32' },
    rounds: { type: 'string', default: '3' },
  },
});
const limit = Number(values.limit);
const batchSizes = values['batch-sizes'].split(',').map(Number);
const rounds = Number(values.rounds);

const KINDS = {
  raw: 'raw onnxruntime-node',
  ours: 'OnnxEmbedder',
  padded: 'OnnxEmbedder, padBatches',
  service: 'embedder service',
} as const;
type Kind = keyof typeof KINDS;

/** The median of a non-empty list. */
const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** One padded [rows, seq] feed of token ids, the way onnxruntime takes a batch. */
function feedOf(batch: number[][]): Record<string, Tensor> {
  const rows = batch.length;
  const seq = Math.max(...batch.map((ids) => ids.length));
  const ids = new BigInt64Array(rows * seq);
  const mask = new BigInt64Array(rows * seq);
  batch.forEach((tokens, r) =>
    tokens.forEach((id, t) => {
      ids[r * seq + t] = BigInt(id);
      mask[r * seq + t] = 1n;
    }),
  );
  return {
    input_ids: new Tensor('int64', ids, [rows, seq]),
    attention_mask: new Tensor('int64', mask, [rows, seq]),
    token_type_ids: new Tensor('int64', new BigInt64Array(rows * seq), [rows, seq]),
  };
}

/** Mean-pooled, normalized first row of a raw output: only to check both sides compute the same vector. */
function pooled(output: InferenceSession.OnnxValueMapType, tokens: number): Float32Array {
  const hidden = output['last_hidden_state'] as Tensor;
  const dim = hidden.dims[2] as number;
  const data = hidden.data as Float32Array;
  const vec = new Float32Array(dim);
  for (let t = 0; t < tokens; t++) for (let k = 0; k < dim; k++) vec[k] = (vec[k] as number) + (data[t * dim + k] as number);
  const norm = Math.hypot(...vec);
  return vec.map((x) => x / norm);
}

await runBenchmark(async (cleanup) => {
  const pairs = await readPairs(values.data, limit);
  const texts = [...new Set(pairs.flatMap((p) => [p.a, p.b]))].slice(0, limit);
  const modelDir = await ensureModel({ dir: defaultModelDir(), fetch: true, log: (l) => process.stderr.write(`${l}\n`) });
  const sessionOptions: InferenceSession.SessionOptions = {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  const logger = createLogger({ level: 'warn' });

  // Token ids from the embedder's own tokenizer, so both sides feed the model the same input.
  const tokenizerHost = await OnnxEmbedder.create({ modelDir });
  cleanup.add(() => tokenizerHost.close());
  const tokenizeSeconds: number[] = [];
  let tokens: number[][] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    tokens = texts.map((text) => tokenizerHost.tokenize(text));
    tokenizeSeconds.push((performance.now() - t0) / 1000);
  }
  const meanTokens = tokens.reduce((sum, ids) => sum + ids.length, 0) / tokens.length;
  process.stderr.write(`[embedding] ${texts.length} texts from ${values.data}, ${meanTokens.toFixed(1)} tokens on average\n`);

  const measured: Array<{ batch: number; kind: Kind; round: number; seconds: number; cpuSeconds: number }> = [];
  let agreement = 1;

  /** The four ways to embed every text at one batch size, warmed up, and how to release them. */
  const setUp = async (batch: number): Promise<{ runs: Record<Kind, () => Promise<void>>; close: () => Promise<void> }> => {
    const raw = await InferenceSession.create(join(modelDir, MODEL_FILE), sessionOptions);
    const ours = await OnnxEmbedder.create({ modelDir, maxBatchSize: batch, maxWaitMs: 2, threads: 1 });
    const padded = await OnnxEmbedder.create({ modelDir, maxBatchSize: batch, maxWaitMs: 2, threads: 1, padBatches: true });
    const bus = new MemoryBus({ logger });
    const service = await startEmbedder({ bus, embedder: ours, logger, metrics: new Metrics(), concurrency: 256 });
    let awaited = 0;
    let allEmbedded: () => void = () => undefined;
    const sink = await bus.subscribe({
      group: 'bench-embedded',
      concurrency: 256,
      handlers: {
        [TOPICS.embedded]: async () => {
          if (--awaited === 0) allEmbedded();
        },
      },
    });
    let closed = false;
    const close = async (): Promise<void> => {
      if (closed) return;
      closed = true;
      await sink.close();
      await service.close();
      await bus.close();
      await Promise.all([ours.close(), padded.close(), raw.release()]);
    };
    cleanup.add(close);

    const feeds: Array<Record<string, Tensor>> = [];
    for (let i = 0; i < tokens.length; i += batch) feeds.push(feedOf(tokens.slice(i, i + batch)));
    const request = (text: string, i: number): CacheRequestEvent => ({
      requestId: `bench-${batch}-${i}`,
      kind: 'LOOKUP',
      replyTo: 'bench',
      scopeKey: `scope-${i % 64}`,
      tenant: 'default',
      namespace: 'default',
      model: 'default',
      paramsHash: '',
      contextHash: '',
      text,
      threshold: null,
      minCreatedAt: null,
      sentAt: Date.now(),
      store: null,
    });
    /** Publishes a request event per text and resolves once the service has published every embedding. */
    const serve = async (list: string[]): Promise<void> => {
      awaited = list.length;
      const done = new Promise<void>((resolve) => (allEmbedded = resolve));
      await Promise.all(list.map((text, i) => bus.publish(TOPICS.requests, `scope-${i % 64}`, request(text, i))));
      await done;
    };

    // Warm up every path (first runs allocate), and check raw and ours give the same vectors.
    const probe = texts.slice(0, 16);
    const mine = await Promise.all(probe.map((text) => ours.embed([text])));
    for (const [i, ids] of tokens.slice(0, probe.length).entries()) {
      const theirs = pooled(await raw.run(feedOf([ids])), ids.length);
      agreement = Math.min(agreement, cosine(theirs, mine[i]?.[0] as Float32Array));
    }
    await Promise.all(probe.map((text) => padded.embed([text])));
    await serve(probe);
    for (const feed of feeds.slice(0, 2)) await raw.run(feed);

    const runs: Record<Kind, () => Promise<void>> = {
      raw: async () => {
        for (const feed of feeds) await raw.run(feed);
      },
      ours: async () => void (await Promise.all(texts.map((text) => ours.embed([text])))),
      padded: async () => void (await Promise.all(texts.map((text) => padded.embed([text])))),
      service: () => serve(texts),
    };
    return { runs, close };
  };

  const setups: Array<{ batch: number; runs: Record<Kind, () => Promise<void>>; close: () => Promise<void> }> = [];
  for (const batch of batchSizes) setups.push({ batch, ...(await setUp(batch)) });
  // Every round measures every batch size and kind, each round in another order, so a change in the
  // machine's load during the run spreads over all of them instead of landing on one.
  const rotate = <T>(list: T[], by: number): T[] => [...list.slice(by % list.length), ...list.slice(0, by % list.length)];
  const kinds = Object.keys(KINDS) as Kind[];
  for (let round = 0; round < rounds; round++) {
    for (const { batch, runs } of rotate(setups, round)) {
      for (const kind of rotate(kinds, round)) {
        const t0 = performance.now();
        const cpu0 = process.cpuUsage();
        await runs[kind]();
        const cpu = process.cpuUsage(cpu0);
        const seconds = (performance.now() - t0) / 1000;
        measured.push({ batch, kind, round, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 });
        process.stderr.write(
          `[embedding] round ${round + 1}/${rounds}, batch ${batch}, ${KINDS[kind]}: ${(texts.length / seconds).toFixed(0)} texts/s\n`,
        );
      }
    }
  }
  for (const { close } of setups) await close();

  const rows = batchSizes.map((batch) => {
    const perKind = (figure: (m: (typeof measured)[number]) => number): Record<Kind, number> =>
      Object.fromEntries(
        (Object.keys(KINDS) as Kind[]).map((kind) => [
          kind,
          median(measured.filter((m) => m.batch === batch && m.kind === kind).map(figure)),
        ]),
      ) as Record<Kind, number>;
    const textsPerSecond = perKind((m) => texts.length / m.seconds);
    const cpuMicrosPerText = perKind((m) => (1e6 * m.cpuSeconds) / texts.length);
    // Time per text, ours over raw: how much longer our pipeline takes than the model alone.
    const ratios = (of: Record<Kind, number>, perText: boolean): Record<Exclude<Kind, 'raw'>, number> => ({
      ours: perText ? of.ours / of.raw : of.raw / of.ours,
      padded: perText ? of.padded / of.raw : of.raw / of.padded,
      service: perText ? of.service / of.raw : of.raw / of.service,
    });
    return {
      batch,
      textsPerSecond,
      cpuMicrosPerText,
      overhead: ratios(textsPerSecond, false),
      cpuOverhead: ratios(cpuMicrosPerText, true),
    };
  });
  const tokenizeMicros = (1e6 * median(tokenizeSeconds)) / texts.length;

  console.log(
    `\nEmbedding throughput, ${texts.length} texts (${meanTokens.toFixed(1)} tokens on average), one intra-op thread, median of ${rounds} rounds`,
  );
  // Per batch size: raw's figure, then each other kind's figure and its ratio to raw.
  const compared = (figure: Record<Kind, number>, ratio: Record<Exclude<Kind, 'raw'>, number>): string[] => [
    figure.raw.toFixed(0),
    ...(['ours', 'padded', 'service'] as const).flatMap((kind) => [figure[kind].toFixed(0), `${ratio[kind].toFixed(2)}x`]),
  ];
  console.log(
    formatTable(
      ['batch', 'raw texts/s', 'ours texts/s', 'ours/raw', 'padded texts/s', 'padded/raw', 'service texts/s', 'service/raw'],
      rows.map((r) => [String(r.batch), ...compared(r.textsPerSecond, r.overhead)]),
    ),
  );
  console.log(`\nCPU time of the process per text (us), same runs`);
  console.log(
    formatTable(
      ['batch', 'raw', 'ours', 'ours/raw', 'padded', 'padded/raw', 'service', 'service/raw'],
      rows.map((r) => [String(r.batch), ...compared(r.cpuMicrosPerText, r.cpuOverhead)]),
    ),
  );
  console.log(`x/raw: time per text relative to raw session.run at the same batch size (1.00x = no overhead)`);
  console.log(`tokenizing (outside raw's timing, inside ours): ${tokenizeMicros.toFixed(0)} us per text`);
  console.log(`same vectors: lowest cosine between raw and ours over ${Math.min(16, texts.length)} texts = ${agreement.toFixed(6)}`);
  writeResults('embedding.json', {
    data: values.data,
    texts: texts.length,
    meanTokens,
    rounds,
    threads: 1,
    tokenizeMicrosPerText: tokenizeMicros,
    rawVsOursLowestCosine: agreement,
    rows,
    measured,
  });
  await writePlot('embedding.svg', {
    title: 'Embedding throughput: LLM-Cache pipeline vs onnxruntime-node',
    xLabel: 'batch size',
    yLabel: 'texts/s',
    kind: 'bar',
    series: (Object.keys(KINDS) as Kind[]).map((kind) => ({
      name: KINDS[kind],
      points: rows.map((r): [string, number] => [`batch ${r.batch}`, r.textsPerSecond[kind]]),
    })),
  });
});
