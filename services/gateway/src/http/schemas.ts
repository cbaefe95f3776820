/** JSON Schemas of the HTTP API; the route definitions and schemas/openapi.yaml are built from these. */

const NAMESPACE = { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$', description: 'Cache namespace' } as const;
const TAG = { type: 'string', minLength: 1, maxLength: 128 } as const;
const MODEL = { type: 'string', minLength: 1, maxLength: 256 } as const;
const PARAMS = {
  type: 'object',
  description: 'Output-affecting parameters (temperature, system prompt...); requests only match entries with equal params.',
  additionalProperties: true,
} as const;

export const errorSchema = {
  $id: 'Error',
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
      description: "An error passed through from the upstream model keeps its other fields (OpenAI's type and param).",
      additionalProperties: true,
    },
  },
} as const;

export const messageSchema = {
  $id: 'ChatMessage',
  type: 'object',
  required: ['role'],
  properties: {
    role: { type: 'string', enum: ['system', 'developer', 'user', 'assistant', 'tool', 'function'] },
    content: {
      anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'object', additionalProperties: true } }, { type: 'null' }],
    },
    name: { type: 'string' },
  },
  additionalProperties: true,
} as const;

const MESSAGES = { type: 'array', minItems: 1, maxItems: 1024, items: { $ref: 'ChatMessage#' } } as const;
const PROMPT = { type: 'string', minLength: 1, description: 'A single prompt; give either prompt or messages.' } as const;
const promptOrMessages = [{ required: ['prompt'] }, { required: ['messages'] }];

export const storeBodySchema = {
  type: 'object',
  required: ['response'],
  oneOf: promptOrMessages,
  properties: {
    prompt: PROMPT,
    messages: MESSAGES,
    response: { type: 'string', description: 'The answer to cache.' },
    model: MODEL,
    params: PARAMS,
    namespace: NAMESPACE,
    tags: { type: 'array', maxItems: 64, items: TAG },
    ttlSeconds: { type: 'integer', minimum: 0, maximum: 315_360_000, description: 'Time to live; 0 never expires.' },
  },
  additionalProperties: false,
} as const;

export const storeQuerySchema = {
  type: 'object',
  properties: { wait: { type: 'string', enum: ['true', 'false'], description: 'Answer 201 once lookups can see the entry.' } },
  additionalProperties: false,
} as const;

export const storeReplySchema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string' }, created: { type: 'boolean', description: 'With wait: false when the entry replaced one.' } },
} as const;

export const lookupBodySchema = {
  type: 'object',
  oneOf: promptOrMessages,
  properties: {
    prompt: PROMPT,
    messages: MESSAGES,
    model: MODEL,
    params: PARAMS,
    namespace: NAMESPACE,
    threshold: { type: 'number', minimum: 0, maximum: 1, description: 'Overrides the threshold for this lookup.' },
    maxAgeSeconds: { type: 'integer', minimum: 0, description: 'Ignore entries older than this.' },
  },
  additionalProperties: false,
} as const;

export const lookupReplySchema = {
  type: 'object',
  required: ['hit', 'score'],
  properties: {
    hit: { type: 'boolean' },
    score: { type: 'number', minimum: 0, maximum: 1 },
    id: { type: 'string' },
    response: { type: 'string' },
    tier: { type: 'string', enum: ['exact', 'semantic'] },
  },
} as const;

export const entryParamsSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;

export const deleteReplySchema = {
  type: 'object',
  required: ['id', 'deleted'],
  properties: { id: { type: 'string' }, deleted: { type: 'boolean' } },
} as const;

export const purgeBodySchema = {
  type: 'object',
  minProperties: 1,
  properties: { namespace: NAMESPACE, tags: { type: 'array', minItems: 1, maxItems: 64, items: TAG } },
  additionalProperties: false,
} as const;

export const purgeReplySchema = {
  type: 'object',
  required: ['purged'],
  properties: { purged: { type: 'integer', minimum: 0 } },
} as const;

export const thresholdBodySchema = {
  type: 'object',
  required: ['threshold'],
  properties: {
    threshold: { type: 'number', minimum: 0, maximum: 1 },
    namespace: { ...NAMESPACE, description: "One namespace of the caller's tenant; absent: the tenant's default" },
  },
  additionalProperties: false,
} as const;

export const thresholdQuerySchema = {
  type: 'object',
  properties: { namespace: NAMESPACE },
  additionalProperties: false,
} as const;

export const thresholdReplySchema = {
  type: 'object',
  required: ['threshold', 'tenant', 'namespace', 'source'],
  properties: {
    threshold: { type: 'number' },
    tenant: { type: 'string', description: '`*` for the global default' },
    namespace: { type: 'string', description: "`*` for the tenant's default" },
    source: {
      type: 'string',
      enum: ['namespace', 'tenant', 'global', 'config'],
      description: "Where the threshold in force comes from: the namespace's own, its tenant's, the global default, or the configuration",
    },
  },
} as const;

export const chatBodySchema = {
  type: 'object',
  required: ['model', 'messages'],
  properties: {
    model: MODEL,
    messages: MESSAGES,
    stream: { type: 'boolean' },
    temperature: { type: 'number', minimum: 0, maximum: 2 },
    top_p: { type: 'number', minimum: 0, maximum: 1 },
    n: { type: 'integer', minimum: 1, maximum: 128 },
    max_tokens: { type: 'integer', minimum: 1 },
    stream_options: { type: 'object', additionalProperties: true },
  },
  additionalProperties: true,
} as const;

export const chatReplySchema = {
  description: 'An OpenAI chat.completion object, or with stream: true an SSE stream of chat.completion.chunk objects.',
  content: {
    'application/json': { schema: { type: 'object', description: 'A chat.completion object.', additionalProperties: true } },
    'text/event-stream': {
      schema: {
        type: 'object',
        description:
          'One server-sent event: its data is a chat.completion.chunk object as JSON, or [DONE] at the end; a stream the upstream model broke off ends instead with an {"error": {"code", "message"}} event.',
        required: ['data'],
        properties: { data: { type: 'string' }, event: { type: 'string' }, id: { type: 'string' } },
      },
    },
  },
} as const;

export const embeddingsBodySchema = {
  type: 'object',
  required: ['input'],
  properties: {
    input: {
      anyOf: [{ type: 'string' }, { type: 'array', minItems: 1, maxItems: 2048, items: { type: 'string' } }],
    },
    model: { type: 'string' },
    encoding_format: { type: 'string', enum: ['float', 'base64'] },
    user: { type: 'string' },
  },
  additionalProperties: false,
} as const;

export const embeddingsReplySchema = {
  type: 'object',
  required: ['object', 'data', 'model', 'usage'],
  properties: {
    object: { type: 'string', enum: ['list'] },
    data: {
      type: 'array',
      items: {
        type: 'object',
        required: ['object', 'index', 'embedding'],
        properties: {
          object: { type: 'string', enum: ['embedding'] },
          index: { type: 'integer' },
          embedding: { anyOf: [{ type: 'array', items: { type: 'number' } }, { type: 'string' }] },
        },
      },
    },
    model: { type: 'string' },
    usage: {
      type: 'object',
      required: ['prompt_tokens', 'total_tokens'],
      properties: { prompt_tokens: { type: 'integer' }, total_tokens: { type: 'integer' } },
    },
  },
} as const;

export const healthReplySchema = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string' }, checks: { type: 'object', additionalProperties: { type: 'string' } } },
} as const;

/** What any route that needs a role may answer besides its own replies: no token, too small a role, rate limited. */
export const ROLE_REPLIES = {
  401: { $ref: 'Error#' },
  403: { $ref: 'Error#' },
  429: { $ref: 'Error#' },
} as const;

export const ERROR_REPLIES = {
  400: { $ref: 'Error#' },
  404: { $ref: 'Error#' },
  413: { $ref: 'Error#' },
  415: { $ref: 'Error#' },
} as const;

const errorReply = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: 'Error#' } } } }) as const;

/** What a route that calls the upstream model may answer besides ERROR_REPLIES. */
export const UPSTREAM_REPLIES = {
  '4xx': errorReply(
    'The upstream model refused the request: its own status and error object (code and message always set), and its Retry-After on 429',
  ),
  502: errorReply('The upstream model failed: no connection, a 5xx, or an answer or stream that is not a chat completion'),
  503: errorReply('No upstream model is configured, or the cache is unavailable'),
  504: errorReply('The upstream model sent nothing for upstream.timeoutMs'),
} as const;

export const statsReplySchema = {
  type: 'object',
  required: ['threshold', 'exactTierEntries', 'namespaces', 'lookups'],
  properties: {
    threshold: { type: 'number' },
    exactTierEntries: { type: 'integer', description: 'Answers held by this gateway for exact repeats' },
    lookups: {
      type: 'object',
      description: "The tenant's lookups at this gateway since it started",
      required: ['total', 'exactHits', 'semanticHits', 'misses', 'hitRate'],
      properties: {
        total: { type: 'integer', minimum: 0 },
        exactHits: { type: 'integer', minimum: 0 },
        semanticHits: { type: 'integer', minimum: 0 },
        misses: { type: 'integer', minimum: 0 },
        hitRate: { type: 'number', minimum: 0, maximum: 1, description: 'Hits over lookups; 0 before the first lookup' },
      },
    },
    namespaces: {
      type: 'array',
      items: {
        type: 'object',
        required: ['namespace', 'entries', 'bytes', 'hits'],
        properties: { namespace: { type: 'string' }, entries: { type: 'integer' }, bytes: { type: 'integer' }, hits: { type: 'integer' } },
      },
    },
  },
} as const;

export const evictionsReplySchema = {
  type: 'object',
  required: ['evictions'],
  properties: {
    evictions: {
      type: 'array',
      description: "The tenant's latest evictions this gateway heard of, newest first (kept in memory, at most 100 of all tenants)",
      items: {
        type: 'object',
        required: ['at', 'reason', 'count', 'entryIds'],
        properties: {
          at: { type: 'integer', description: 'Milliseconds since the epoch' },
          reason: { type: 'string', enum: ['DELETE', 'PURGE', 'TTL', 'CAPACITY', 'MODEL_CHANGE'] },
          namespace: { type: 'string' },
          count: { type: 'integer', minimum: 0, description: 'Entries removed' },
          entryIds: { type: 'array', items: { type: 'string' }, description: 'The first ten of their ids' },
        },
      },
    },
  },
} as const;

export const feedbackBodySchema = {
  type: 'object',
  required: ['requestId', 'correct'],
  properties: {
    requestId: {
      type: 'string',
      pattern: '^[A-Za-z0-9._:-]{1,128}$',
      description: 'The x-llmcache-request-id of a response the cache answered (a hit in a namespace with the verified policy)',
    },
    correct: { type: 'boolean', description: 'Whether the cached answer was right for that request' },
  },
  additionalProperties: false,
} as const;

export const feedbackReplySchema = {
  type: 'object',
  required: ['requestId', 'entryId', 'accepted'],
  properties: {
    requestId: { type: 'string' },
    entryId: { type: 'string', description: 'The entry that answered the request' },
    accepted: { type: 'boolean', description: 'Queued for recording; feedback on one request counts once' },
  },
} as const;

export const decisionQuerySchema = {
  type: 'object',
  properties: { namespace: NAMESPACE },
  additionalProperties: false,
} as const;

const OUTCOME_COUNTS = {
  type: 'object',
  required: ['correct', 'wrong'],
  properties: { correct: { type: 'integer', minimum: 0 }, wrong: { type: 'integer', minimum: 0 } },
} as const;

export const decisionReplySchema = {
  type: 'object',
  required: [
    'namespace',
    'policy',
    'maxFalseHitRate',
    'confidence',
    'outcomes',
    'verifiedHits',
    'observedFalseHitRate',
    'explored',
    'calibration',
    'thresholds',
  ],
  properties: {
    namespace: { type: 'string' },
    policy: { type: 'string', enum: ['static', 'verified'] },
    maxFalseHitRate: { type: 'number' },
    confidence: { type: 'number' },
    outcomes: { ...OUTCOME_COUNTS, description: 'Every verified outcome recorded in the namespace' },
    verifiedHits: { ...OUTCOME_COUNTS, description: 'Outcomes of explored would-be hits and of hits with feedback' },
    observedFalseHitRate: {
      type: 'number',
      nullable: true,
      description: 'wrong / (correct + wrong) of verifiedHits; null before the first',
    },
    explored: {
      type: 'object',
      required: ['count', 'wrong', 'predictedRisk'],
      properties: {
        count: { type: 'integer', minimum: 0 },
        wrong: { type: 'integer', minimum: 0 },
        predictedRisk: { type: 'number', description: 'The risk the policy predicted for them, summed' },
      },
    },
    calibration: { type: 'number', description: 'How much worse explored hits turned out than predicted (at least 1); scales every risk' },
    thresholds: {
      type: 'array',
      description:
        'Per evidence level (0: entries never looked up before, 1: once, 2: two or three times, 3: four or more), the lowest score from which on a hit is wrong with a chance under maxFalseHitRate (at the stated confidence); null while the outcomes do not show one',
      items: {
        type: 'object',
        required: ['level', 'threshold'],
        properties: { level: { type: 'integer' }, threshold: { type: 'number', nullable: true } },
      },
    },
  },
} as const;
