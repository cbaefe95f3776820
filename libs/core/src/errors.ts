/**
 * The one error catalogue of LLM-Cache. Every error thrown across a package boundary is a
 * CacheError with a code from this closed list; the code decides the HTTP status at the gateway
 * and whether a bus consumer retries (retryable) or dead-letters the event.
 */
export const ERROR_CODES = {
  LLMCACHE_BAD_REQUEST: { status: 400, retryable: false },
  LLMCACHE_VALIDATION: { status: 400, retryable: false },
  LLMCACHE_PAYLOAD_TOO_LARGE: { status: 413, retryable: false },
  /** The client took longer than http.headersTimeoutMs / requestTimeoutMs to send its request. */
  LLMCACHE_REQUEST_TIMEOUT: { status: 408, retryable: true },
  /** The request line and headers exceed http.maxHeaderBytes. */
  LLMCACHE_HEADERS_TOO_LARGE: { status: 431, retryable: false },
  LLMCACHE_UNAUTHORIZED: { status: 401, retryable: false },
  LLMCACHE_FORBIDDEN: { status: 403, retryable: false },
  LLMCACHE_NOT_FOUND: { status: 404, retryable: false },
  LLMCACHE_METHOD_NOT_ALLOWED: { status: 405, retryable: false },
  LLMCACHE_UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false },
  LLMCACHE_RATE_LIMITED: { status: 429, retryable: true },
  LLMCACHE_TIMEOUT: { status: 504, retryable: true },
  LLMCACHE_UPSTREAM: { status: 502, retryable: true },
  LLMCACHE_UPSTREAM_TIMEOUT: { status: 504, retryable: true },
  /** The model refused the request: the gateway answers with the model's own 4xx and error; this code fills a missing one. */
  LLMCACHE_UPSTREAM_REJECTED: { status: 400, retryable: false },
  LLMCACHE_UPSTREAM_NOT_CONFIGURED: { status: 503, retryable: false },
  LLMCACHE_UNAVAILABLE: { status: 503, retryable: true },
  LLMCACHE_CONFIG: { status: 500, retryable: false },
  LLMCACHE_CODEC: { status: 400, retryable: false },
  LLMCACHE_STORAGE: { status: 503, retryable: true },
  LLMCACHE_EMBEDDING: { status: 503, retryable: true },
  LLMCACHE_MODEL_MISSING: { status: 503, retryable: false },
  LLMCACHE_INTERNAL: { status: 500, retryable: false },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class CacheError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CacheError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.retryable = options?.retryable ?? ERROR_CODES[code].retryable;
  }
}

export const badRequest = (message: string, cause?: unknown): CacheError => new CacheError('LLMCACHE_BAD_REQUEST', message, { cause });
export const notFound = (message: string): CacheError => new CacheError('LLMCACHE_NOT_FOUND', message);

/** True when an error (of any kind) should be retried by a bus consumer. */
export function isRetryable(error: unknown): boolean {
  return error instanceof CacheError ? error.retryable : false;
}

/** Wraps anything thrown into a CacheError, keeping the original as cause. */
export function toCacheError(error: unknown, fallback: ErrorCode = 'LLMCACHE_INTERNAL'): CacheError {
  if (error instanceof CacheError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new CacheError(fallback, message, { cause: error });
}
