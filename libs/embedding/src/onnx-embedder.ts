import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { CacheError } from '@llm-cache/core';
import type { Embedder } from '@llm-cache/core';
import { Batcher } from './batcher.ts';
import { l2normalize } from './vector.ts';
import { MODEL_FILE, MODEL_NAME, modelFilesPresent, modelMissingHelp } from './model-files.ts';
import { MAX_TOKENS, TokenWindow } from './token-window.ts';

/** Options of {@link OnnxEmbedder.create}. */
export interface OnnxEmbedderOptions {
  /** Directory holding the ONNX model and its tokenizer (see `defaultModelDir`). */
  modelDir: string;
  /** Most texts per batch (default 32). */
  maxBatchSize?: number;
  /** How long a text waits for others to join its batch (default 2 ms). */
  maxWaitMs?: number;
  /** onnxruntime intra-op threads (default 1). */
  threads?: number;
  /**
   * Run a whole batch as one padded tensor (default false). The model quantizes activations
   * dynamically with one scale per tensor, so a padded batch makes each vector depend slightly on
   * its batch mates (cosine to the solo vector >= ~0.98). By default every text of a batch gets its
   * own run, so a text always maps to the same vector; batched runs are ~20-30% faster.
   */
  padBatches?: boolean;
}

/** SHA-256 of a file, hex. */
async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Local sentence embedder: quantized all-MiniLM-L6-v2 on onnxruntime-node, mean-pooled and
 * L2-normalized, 384 dimensions. Concurrent `embed` calls are coalesced by a {@link Batcher};
 * the model runs one batch at a time.
 */
export class OnnxEmbedder implements Embedder {
  readonly fingerprint: string;
  readonly dimensions: number;
  readonly #session: InferenceSession;
  readonly window: TokenWindow;
  readonly #batcher: Batcher<string, Float32Array>;
  readonly #sepId: number;
  readonly #padBatches: boolean;
  #closed = false;

  private constructor(
    session: InferenceSession,
    window: TokenWindow,
    fingerprint: string,
    dimensions: number,
    options: OnnxEmbedderOptions,
  ) {
    this.#session = session;
    this.window = window;
    this.fingerprint = fingerprint;
    this.dimensions = dimensions;
    this.#sepId = window.tokenizer.token_to_id('[SEP]') ?? 102;
    this.#padBatches = options.padBatches ?? false;
    this.#batcher = new Batcher({
      maxBatchSize: options.maxBatchSize ?? 32,
      maxWaitMs: options.maxWaitMs ?? 2,
      run: (texts) => this.#runBatch(texts),
    });
  }

  /** Loads the model and tokenizer from `modelDir`; throws LLMCACHE_MODEL_MISSING if absent or unreadable. */
  static async create(options: OnnxEmbedderOptions): Promise<OnnxEmbedder> {
    const { modelDir } = options;
    if (!modelFilesPresent(modelDir)) {
      throw new CacheError('LLMCACHE_MODEL_MISSING', `The local embedding model is missing.\n${modelMissingHelp(modelDir)}`);
    }
    const modelPath = join(modelDir, MODEL_FILE);
    try {
      const window = await TokenWindow.load(modelDir, MAX_TOKENS);
      const threads = options.threads ?? 1;
      const session = await InferenceSession.create(modelPath, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
      const digest = await sha256File(modelPath);
      const embedder = new OnnxEmbedder(session, window, `onnx:${MODEL_NAME}:${digest.slice(0, 12)}`, 384, options);
      const [probe] = await embedder.#infer([embedder.#encode('dimension probe')]);
      if (probe?.length !== 384) throw new Error(`model produced ${probe?.length} dimensions, expected 384`);
      return embedder;
    } catch (error) {
      throw new CacheError(
        'LLMCACHE_MODEL_MISSING',
        `Cannot load the embedding model from ${modelDir}: ${(error as Error).message}\n${modelMissingHelp(modelDir)}`,
        { cause: error },
      );
    }
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (this.#closed) throw new CacheError('LLMCACHE_EMBEDDING', 'the embedder is closed', { retryable: false });
    return this.#batcher.submit(texts);
  }

  /** Token ids of `text`: [CLS] ... [SEP], truncated to {@link MAX_TOKENS} keeping [SEP] last. */
  tokenize(text: string): number[] {
    return this.#encode(text);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#batcher.close();
    await this.#session.release();
  }

  /** Token ids of `text`, truncated to the window keeping [SEP] last (the gateway splits longer texts first). */
  #encode(text: string): number[] {
    const ids = this.window.headIds(text);
    if (ids.length <= MAX_TOKENS) return ids;
    const out = ids.slice(0, MAX_TOKENS - 1);
    out.push(this.#sepId);
    return out;
  }

  async #runBatch(texts: string[]): Promise<Float32Array[]> {
    try {
      const encoded = texts.map((text) => this.#encode(text));
      if (this.#padBatches) return await this.#infer(encoded);
      const out: Float32Array[] = [];
      for (const ids of encoded) out.push(...(await this.#infer([ids])));
      return out;
    } catch (error) {
      if (error instanceof CacheError) throw error;
      throw new CacheError('LLMCACHE_EMBEDDING', `ONNX embedding failed: ${(error as Error).message}`, { cause: error });
    }
  }

  /** One session.run over `batch` (padded with 0 to the longest), mean-pooled and normalized. */
  async #infer(batch: number[][]): Promise<Float32Array[]> {
    const rows = batch.length;
    const seq = Math.max(...batch.map((ids) => ids.length));
    const inputIds = new BigInt64Array(rows * seq);
    const mask = new BigInt64Array(rows * seq);
    batch.forEach((ids, r) => {
      ids.forEach((id, t) => {
        inputIds[r * seq + t] = BigInt(id);
        mask[r * seq + t] = 1n;
      });
    });
    const dims = [rows, seq];
    const result = await this.#session.run({
      input_ids: new Tensor('int64', inputIds, dims),
      attention_mask: new Tensor('int64', mask, dims),
      token_type_ids: new Tensor('int64', new BigInt64Array(rows * seq), dims),
    });
    const hidden = result['last_hidden_state'];
    if (hidden === undefined || hidden.type !== 'float32' || hidden.dims.length !== 3) {
      throw new Error('model output last_hidden_state is missing or not [batch, seq, dim] float32');
    }
    const dim = hidden.dims[2] as number;
    const data = hidden.data as Float32Array;
    return batch.map((ids, r) => {
      const vec = new Float32Array(dim);
      for (let t = 0; t < ids.length; t += 1) {
        const base = (r * seq + t) * dim;
        for (let k = 0; k < dim; k += 1) vec[k] = (vec[k] as number) + (data[base + k] as number);
      }
      return l2normalize(vec);
    });
  }
}
