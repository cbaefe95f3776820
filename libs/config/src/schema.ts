import { z } from 'zod';

const port = z.number().int().min(0).max(65535);
const fraction = z.number().min(0).max(1);
const positiveInt = z.number().int().positive();
const file = z.string().min(1);

/** Client-side TLS towards a server: a private CA, and a client certificate where the server asks for one. */
const clientTls = z
  .object({
    /** Use TLS (also implied by any of the files). */
    enabled: z.boolean().default(false),
    /** PEM file of the CA that signed the server's certificate (the system CAs when absent). */
    caFile: file.optional(),
    /** PEM client certificate and key, for servers that authenticate clients by certificate. */
    certFile: file.optional(),
    keyFile: file.optional(),
    passphrase: z.string().optional(),
    /** Refuse servers whose certificate does not verify; turn off only for a test server. */
    rejectUnauthorized: z.boolean().default(true),
  })
  .strict()
  .refine((tls) => (tls.certFile === undefined) === (tls.keyFile === undefined), {
    message: 'certFile and keyFile go together',
    path: ['keyFile'],
  })
  .prefault({});

/** The decision settings a namespace may override. */
const decisionFields = {
  /** static (one threshold) or verified (learned from outcomes under a false-hit budget). */
  policy: z.enum(['static', 'verified']),
  /** Share of lookups the verified policy may answer wrongly from the cache. */
  maxFalseHitRate: z.number().gt(0).max(0.5),
  /** Confidence of the upper bound on each hit's chance of being wrong. */
  confidence: z.number().min(0.5).max(0.9999),
  /** Lookups scoring below this are plain misses, neither answered nor verified. */
  minScore: fraction,
  /** Share of the other near misses whose upstream answer is compared with the candidate's. */
  verifySampleRate: fraction,
  /** Smallest chance that an affordable hit is explored (answered upstream and compared) instead. */
  explorationFloor: fraction,
};

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
    /** HTTPS for the gateway: set both files (PEM) to listen with TLS only. */
    tls: z
      .object({
        certFile: file.optional(),
        keyFile: file.optional(),
        passphrase: z.string().optional(),
        /** Oldest TLS version accepted. */
        minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
      })
      .strict()
      .refine((tls) => (tls.certFile === undefined) === (tls.keyFile === undefined), {
        message: 'certFile and keyFile go together',
        path: ['keyFile'],
      })
      .prefault({}),
    /** Limits that keep slow or oversized clients from holding the gateway's connections. */
    http: z
      .object({
        /** Time a client has to send the request headers. */
        headersTimeoutMs: positiveInt.default(10_000),
        /** Time a client has to send the whole request (headers and body). */
        requestTimeoutMs: positiveInt.default(30_000),
        /** An idle keep-alive connection is closed after this long. */
        keepAliveTimeoutMs: positiveInt.default(72_000),
        /** Largest request head (request line and headers); larger gets 431. */
        maxHeaderBytes: positiveInt.max(1_048_576).default(16_384),
        /**
         * Open connections at most. At the cap a new connection closes the longest idle one (one that
         * has not sent a whole request yet, then one kept alive between requests); only when every
         * connection is busy with a request is the new one refused. Keep it under the file limit.
         */
        maxConnections: positiveInt.max(1_000_000).default(10_000),
      })
      .strict()
      .prefault({}),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Where a distributed process without a gateway serves /metrics (on host); 0 = not at all. */
    metricsPort: port.default(0),
    /** Namespaces with their own metrics label (the busiest, and the largest for entry gauges); the rest count as "other". */
    metricsNamespaces: positiveInt.max(100_000).default(100),
    /** Default similarity threshold (cosine, 0..1); see docs/threshold.md for how it was chosen. */
    threshold: fraction.default(0.85),
    /**
     * How a lookup's best candidate becomes a hit: `static` compares its score with `threshold`;
     * `verified` learns from verified outcomes where hits are safe and keeps the share of lookups
     * answered wrongly under `maxFalseHitRate` (see docs/verified-hits.md). Any key can be set per
     * namespace under `namespaces`.
     */
    decision: z
      .object({
        policy: decisionFields.policy.default('static'),
        maxFalseHitRate: decisionFields.maxFalseHitRate.default(0.02),
        confidence: decisionFields.confidence.default(0.95),
        minScore: decisionFields.minScore.default(0.5),
        verifySampleRate: decisionFields.verifySampleRate.default(1),
        explorationFloor: decisionFields.explorationFloor.default(0.01),
        /** Two answers whose embeddings are at least this similar (cosine) count as the same answer. */
        answerSimilarity: fraction.default(0.9),
        /** How long after a hit its request id still takes feedback (POST /v1/cache/feedback). */
        feedbackWindowSeconds: positiveInt.default(86_400),
        /** Per-namespace settings, e.g. {"faq": {"policy": "verified", "maxFalseHitRate": 0.01}}. */
        namespaces: z.record(z.string(), z.object(decisionFields).partial().strict()).default({}),
      })
      .strict()
      .prefault({}),
    defaultTenant: z.string().min(1).default('default'),
    defaultNamespace: z.string().min(1).default('default'),
    defaultModel: z.string().min(1).default('default'),
    /** How long the gateway waits for a lookup's outcome before answering a miss. */
    lookupTimeoutMs: positiveInt.default(2000),
    /** How long `?wait=true` waits for the writer before answering 504. */
    writeTimeoutMs: positiveInt.default(10000),
    maxBodyBytes: positiveInt.default(1_048_576),
    /** Deepest nesting of arrays and objects a JSON body may have. */
    maxJsonDepth: positiveInt.max(1000).default(32),
    /** Requests per second each token (or, without one, each client address) may make; 0 turns the limit off. */
    rateLimit: z
      .object({ perSecond: z.number().min(0).default(0), burst: positiveInt.default(100) })
      .strict()
      .prefault({}),
    /** Responses larger than this many bytes go to the object store. */
    objectThresholdBytes: positiveInt.default(65_536),
    /** Default time to live of an entry in seconds; 0 means entries never expire. */
    ttlSeconds: z.number().int().min(0).default(0),
    /**
     * Chat requests sampled hotter than `above` want varied answers: `bypass` neither reads nor
     * writes the cache, `write-only` stores answers but never serves them, `cache` treats them like
     * any other request (the temperature is part of the scope either way).
     */
    highTemperature: z
      .object({
        above: z.number().min(0).max(2).default(1),
        action: z.enum(['bypass', 'write-only', 'cache']).default('bypass'),
      })
      .strict()
      .prefault({}),
    exactTier: z
      .object({
        enabled: z.boolean().default(true),
        shards: positiveInt.max(1024).default(16),
        maxEntries: positiveInt.default(100_000),
        maxBytes: positiveInt.default(256 * 1024 * 1024),
      })
      .strict()
      .prefault({}),
    /**
     * The embedded mode's in-memory vector index: each scope is scanned exactly until it holds more
     * than `annAbove` vectors, then searched through an HNSW graph (see docs/benchmarks.md).
     */
    vectorIndex: z
      .object({
        /** Scope size above which an HNSW graph serves the scope's searches; 0 = always scan exactly. */
        annAbove: z.number().int().min(0).default(20_000),
        /** HNSW M: neighbours per node. */
        m: z.number().int().min(2).max(256).default(16),
        /** Candidate list while inserting. */
        efConstruction: positiveInt.max(4096).default(128),
        /** Candidate list while searching. */
        efSearch: positiveInt.max(4096).default(64),
        /** Threads that build a graph; 0 = every core. */
        buildThreads: z.number().int().min(0).max(256).default(0),
      })
      .strict()
      .prefault({}),
    /** Prices per million tokens by model, for the cost-saved metric; `default` applies to unlisted models. */
    pricing: z
      .record(z.string(), z.object({ inputPerMillion: z.number().min(0), outputPerMillion: z.number().min(0) }).strict())
      .default({}),
    auth: z
      .object({
        /** Every API route needs a Bearer token. Off is only allowed on a loopback address. */
        required: z.boolean().default(false),
        /** A bootstrap admin token reaching every tenant (to create the others); keep it secret. */
        adminToken: z.string().min(16).optional(),
      })
      .strict()
      .prefault({}),
    upstream: z
      .object({
        baseUrl: z.string().url().optional(),
        apiKey: z.string().optional(),
        timeoutMs: positiveInt.default(120_000),
      })
      .strict()
      .prefault({}),
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
        /** The OpenAI model's input limit in tokens; longer texts are split (docs/cache-rules.md). */
        maxInputTokens: positiveInt.default(8191),
        maxBatchSize: positiveInt.max(2048).default(32),
        maxWaitMs: z.number().min(0).max(1000).default(2),
      })
      .strict()
      .prefault({}),
    eviction: z
      .object({
        /** lru, lfu, fifo, or custom (the module named by `module`). */
        policy: z.enum(['lru', 'lfu', 'fifo', 'custom']).default('lru'),
        /** A module whose default export is an EvictionPolicy (see docs/eviction.md). */
        module: z.string().optional(),
        /** 0 means unlimited. */
        maxEntries: z.number().int().min(0).default(0),
        maxBytes: z.number().int().min(0).default(0),
        /** Limits per namespace (in every tenant), e.g. {"faq": {"maxEntries": 1000}}. */
        namespaces: z
          .record(
            z.string(),
            z
              .object({
                maxEntries: z.number().int().min(0).default(0),
                maxBytes: z.number().int().min(0).default(0),
                /** Overrides the global policy inside this namespace. */
                policy: z.enum(['lru', 'lfu', 'fifo']).optional(),
              })
              .strict(),
          )
          .default({}),
        intervalMs: positiveInt.default(5000),
      })
      .strict()
      .refine((eviction) => eviction.policy !== 'custom' || eviction.module !== undefined, {
        message: 'policy custom needs eviction.module',
        path: ['module'],
      })
      .prefault({}),
    kafka: z
      .object({
        /** Comma-separated host:port list. */
        brokers: z.string().min(1).default('127.0.0.1:9092'),
        clientId: z.string().min(1).default('llm-cache'),
        /** Partitions of each topic created at start (existing topics are left as they are). */
        partitions: positiveInt.max(1024).default(8),
        replicationFactor: positiveInt.default(1),
        /**
         * min.insync.replicas of each topic created at start (absent: the broker's default). With acks=all,
         * a write succeeds once this many replicas have it; production: replicationFactor 3, this 2.
         */
        minInsyncReplicas: positiveInt.optional(),
        /** Confluent-compatible schema registry base URL. */
        registryUrl: z.string().url().default('http://127.0.0.1:8081/apis/ccompat/v7'),
        /** Events a consumer handles at once per partition. */
        concurrency: positiveInt.max(1024).default(16),
        /** Prepended to every topic and subject name, so several caches can share one cluster. */
        topicPrefix: z
          .string()
          .regex(/^[A-Za-z0-9._-]{0,100}$/)
          .default(''),
        /** TLS to the brokers. */
        tls: clientTls,
        /** SASL authentication to the brokers (over TLS in production). */
        sasl: z
          .object({
            mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
            username: z.string().min(1),
            password: z.string().min(1),
          })
          .strict()
          .optional(),
        /** Basic auth to the schema registry (an https registryUrl uses TLS with the system CAs or tls.caFile). */
        registryUsername: z.string().optional(),
        registryPassword: z.string().optional(),
      })
      .strict()
      .refine((kafka) => kafka.minInsyncReplicas === undefined || kafka.minInsyncReplicas <= kafka.replicationFactor, {
        message: 'minInsyncReplicas cannot exceed replicationFactor: no write would ever be acknowledged',
        path: ['minInsyncReplicas'],
      })
      .prefault({}),
    milvus: z
      .object({
        address: z.string().min(1).default('127.0.0.1:19530'),
        collection: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]{0,254}$/)
          .default('llmcache_vectors'),
        dimensions: positiveInt.max(32768).default(384),
        username: z.string().optional(),
        password: z.string().optional(),
        /** TLS to Milvus (one-way with caFile, mutual with certFile and keyFile). */
        tls: clientTls,
        /** Server name to verify in Milvus' certificate, when it differs from the address' host. */
        serverName: z.string().optional(),
      })
      .strict()
      .prefault({}),
    mongo: z
      .object({
        url: z.string().min(1).default('mongodb://127.0.0.1:27017'),
        database: z.string().min(1).default('llmcache'),
        /** Credentials kept out of the URL (so they can be encrypted and never print with it). */
        username: z.string().optional(),
        password: z.string().optional(),
        /** TLS to MongoDB (the URL's tls options work too). */
        tls: clientTls,
      })
      .strict()
      .prefault({}),
    s3: z
      .object({
        endpoint: z.string().url().optional(),
        region: z.string().min(1).default('us-east-1'),
        bucket: z.string().min(3).max(63).default('llmcache'),
        accessKeyId: z.string().optional(),
        secretAccessKey: z.string().optional(),
        forcePathStyle: z.boolean().default(true),
        /** PEM CA for an https endpoint signed by a private CA. */
        caFile: file.optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
