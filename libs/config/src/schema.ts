import { z } from 'zod';

const port = z.number().int().min(0).max(65535);
const fraction = z.number().min(0).max(1);
const positiveInt = z.number().int().positive();

/**
 * The one configuration schema. Every key has a default, so `{}` is a valid file; every leaf can be
 * overridden by an environment variable named LLMCACHE_<PATH> (camelCase becomes SNAKE_CASE, nesting
 * becomes `_`), for example `upstream.baseUrl` -> `LLMCACHE_UPSTREAM_BASE_URL`.
 */
export const configSchema = z
  .object({
    mode: z.enum(['embedded', 'distributed']).default('embedded'),
    host: z.string().min(1).default('127.0.0.1'),
    port: port.default(8080),
    dataDir: z.string().min(1).default('./data'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Default similarity threshold (cosine, 0..1); see docs/threshold.md for how it was chosen. */
    threshold: fraction.default(0.85),
    defaultTenant: z.string().min(1).default('default'),
    defaultNamespace: z.string().min(1).default('default'),
    defaultModel: z.string().min(1).default('default'),
    /** How long the gateway waits for a lookup's outcome before answering a miss. */
    lookupTimeoutMs: positiveInt.default(2000),
    /** How long `?wait=true` waits for the writer before answering 504. */
    writeTimeoutMs: positiveInt.default(10000),
    maxBodyBytes: positiveInt.default(1_048_576),
    /** Responses larger than this many bytes go to the object store. */
    objectThresholdBytes: positiveInt.default(65_536),
    /** Default time to live of an entry in seconds; 0 means entries never expire. */
    ttlSeconds: z.number().int().min(0).default(0),
    exactTier: z
      .object({
        enabled: z.boolean().default(true),
        shards: positiveInt.max(1024).default(16),
        maxEntries: positiveInt.default(100_000),
        maxBytes: positiveInt.default(256 * 1024 * 1024),
      })
      .strict()
      .default({ enabled: true, shards: 16, maxEntries: 100_000, maxBytes: 256 * 1024 * 1024 }),
    upstream: z
      .object({
        baseUrl: z.string().url().optional(),
        apiKey: z.string().optional(),
        timeoutMs: positiveInt.default(120_000),
      })
      .strict()
      .default({ timeoutMs: 120_000 }),
    embedding: z
      .object({
        provider: z.enum(['onnx', 'openai']).default('onnx'),
        modelDir: z.string().optional(),
        /** Download the local model on first start when it is missing. */
        autoFetch: z.boolean().default(true),
        threads: positiveInt.max(64).default(1),
        baseUrl: z.string().url().optional(),
        model: z.string().default('text-embedding-3-small'),
        apiKey: z.string().optional(),
        maxBatchSize: positiveInt.max(2048).default(32),
        maxWaitMs: z.number().min(0).max(1000).default(2),
      })
      .strict()
      .default({ provider: 'onnx', autoFetch: true, threads: 1, model: 'text-embedding-3-small', maxBatchSize: 32, maxWaitMs: 2 }),
    eviction: z
      .object({
        policy: z.enum(['lru', 'lfu', 'fifo']).default('lru'),
        /** 0 means unlimited. */
        maxEntries: z.number().int().min(0).default(0),
        maxBytes: z.number().int().min(0).default(0),
        intervalMs: positiveInt.default(5000),
      })
      .strict()
      .default({ policy: 'lru', maxEntries: 0, maxBytes: 0, intervalMs: 5000 }),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
