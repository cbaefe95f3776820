import OpenAI from 'openai';
import { byteWindow, CacheError } from '@llm-cache/core';
import type { Embedder, TextWindow } from '@llm-cache/core';
import { Batcher } from './batcher.ts';
import { l2normalize } from './vector.ts';

/** Options of {@link OpenAIEmbedder.create}. */
export interface OpenAIEmbedderOptions {
  /** API root, e.g. `http://localhost:8080/v1` (the client posts to `${baseURL}/embeddings`). */
  baseURL: string;
  model: string;
  /** Bearer token; may be omitted for servers without authentication. */
  apiKey?: string;
  /**
   * Expected vector size. When omitted, `create` embeds one probe text to discover it. Every
   * response is checked against it.
   */
  dimensions?: number;
  /** Also send `dimensions` in the request (OpenAI's text-embedding-3 models shorten vectors). Default false. */
  sendDimensions?: boolean;
  /** Most texts per request (default 64). */
  maxBatchSize?: number;
  /** How long a text waits for others to join its request (default 2 ms). */
  maxWaitMs?: number;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
  /** Retries of the HTTP client on connection errors, 408, 429 and 5xx (default 2). */
  maxRetries?: number;
  /**
   * The model's input limit in tokens (default 8191, OpenAI's embedding models). Texts are measured
   * in UTF-8 bytes against it, which never undercounts a byte-level BPE tokenizer.
   */
  maxInputTokens?: number;
}

/** OpenAI's embedding models read at most this many tokens of an input. */
export const OPENAI_MAX_INPUT_TOKENS = 8191;

/** `host/path` of a base URL, without scheme, credentials, query or trailing slash. */
function endpointId(baseURL: string): string {
  try {
    const url = new URL(baseURL);
    return `${url.host}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    throw new CacheError('LLMCACHE_CONFIG', `invalid embedding base URL: ${baseURL}`);
  }
}

/** Decodes one `embedding` field: a number array, a Float32Array, or base64 of little-endian float32. */
function toVector(value: unknown): Float32Array {
  if (value instanceof Float32Array) return Float32Array.from(value);
  if (Array.isArray(value) && value.every((x) => typeof x === 'number')) return Float32Array.from(value as number[]);
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'base64');
    const copy = new Uint8Array(bytes.length - (bytes.length % 4));
    copy.set(bytes.subarray(0, copy.length));
    return new Float32Array(copy.buffer);
  }
  throw new Error('response embedding is neither a number array nor base64');
}

/**
 * Embedder backed by an OpenAI-compatible `/embeddings` endpoint. Concurrent `embed` calls are
 * coalesced into requests of up to `maxBatchSize` inputs, one request in flight at a time; the
 * vectors are L2-normalized here whatever the server returns.
 */
export class OpenAIEmbedder implements Embedder {
  readonly window: TextWindow;
  readonly #client: OpenAI;
  readonly #model: string;
  readonly #apiKey: string;
  readonly #sendDimensions: boolean;
  readonly #batcher: Batcher<string, Float32Array>;
  readonly #endpoint: string;
  #dimensions: number | undefined;
  #closed = false;

  private constructor(options: OpenAIEmbedderOptions) {
    this.#endpoint = endpointId(options.baseURL);
    this.window = byteWindow(options.maxInputTokens ?? OPENAI_MAX_INPUT_TOKENS);
    this.#model = options.model;
    this.#apiKey = options.apiKey ?? '';
    this.#dimensions = options.dimensions;
    this.#sendDimensions = options.sendDimensions ?? false;
    this.#client = new OpenAI({
      baseURL: options.baseURL,
      // The SDK refuses to start without a key; servers without auth ignore the placeholder.
      apiKey: this.#apiKey || 'none',
      organization: null,
      project: null,
      timeout: options.timeoutMs ?? 30_000,
      maxRetries: options.maxRetries ?? 2,
    });
    this.#batcher = new Batcher({
      maxBatchSize: options.maxBatchSize ?? 64,
      maxWaitMs: options.maxWaitMs ?? 2,
      run: (texts) => this.#request(texts),
    });
  }

  /** Connects; when `dimensions` is not given, embeds "dimension probe" once to learn it. */
  static async create(options: OpenAIEmbedderOptions): Promise<OpenAIEmbedder> {
    if (options.dimensions !== undefined && !(Number.isInteger(options.dimensions) && options.dimensions > 0)) {
      throw new CacheError('LLMCACHE_CONFIG', `embedding dimensions must be a positive integer, got ${options.dimensions}`);
    }
    const embedder = new OpenAIEmbedder(options);
    if (embedder.#dimensions === undefined) await embedder.embed(['dimension probe']);
    return embedder;
  }

  /** `openai:<host/path>:<model>:<dimensions>`. */
  get fingerprint(): string {
    return `openai:${this.#endpoint}:${this.#model}:${this.dimensions}`;
  }

  get dimensions(): number {
    return this.#dimensions as number;
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (this.#closed) throw new CacheError('LLMCACHE_EMBEDDING', 'the embedder is closed', { retryable: false });
    return this.#batcher.submit(texts);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#batcher.close();
  }

  async #request(texts: string[]): Promise<Float32Array[]> {
    try {
      const response = await this.#client.embeddings.create({
        model: this.#model,
        input: texts,
        encoding_format: 'float',
        ...(this.#sendDimensions && this.#dimensions !== undefined ? { dimensions: this.#dimensions } : {}),
      });
      const data = response.data;
      if (!Array.isArray(data) || data.length !== texts.length) {
        throw new Error(`server returned ${Array.isArray(data) ? data.length : 'no'} embeddings for ${texts.length} inputs`);
      }
      const vectors = new Array<Float32Array | undefined>(texts.length);
      data.forEach((item, position) => {
        const index = typeof item.index === 'number' ? item.index : position;
        if (!(index >= 0 && index < texts.length) || vectors[index] !== undefined) {
          throw new Error(`server returned a bad or duplicate embedding index ${index}`);
        }
        vectors[index] = toVector(item.embedding as unknown);
      });
      const dims = this.#dimensions ?? (vectors[0] as Float32Array).length;
      return vectors.map((vec) => {
        const v = vec as Float32Array;
        if (v.length !== dims || dims === 0) {
          throw new CacheError('LLMCACHE_EMBEDDING', `embedding model ${this.#model} returned ${v.length} dimensions, expected ${dims}`, {
            retryable: false,
          });
        }
        this.#dimensions = dims;
        return l2normalize(v);
      });
    } catch (error) {
      if (error instanceof CacheError) throw error;
      const status = error instanceof OpenAI.APIError && error.status !== undefined ? ` (HTTP ${error.status})` : '';
      const message = this.#scrub(error instanceof Error ? error.message : String(error));
      throw new CacheError('LLMCACHE_EMBEDDING', `embedding request to ${this.#endpoint} failed${status}: ${message}`);
    }
  }

  /** Removes the API key from a message, in case a server or proxy echoes it. */
  #scrub(message: string): string {
    return this.#apiKey.length >= 4 ? message.split(this.#apiKey).join('***') : message;
  }
}
