import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CacheError, type ErrorCode } from '@llm-cache/core';
import { secretScrubber, type Logger } from '@llm-cache/telemetry';

/** The JSON error body every failure gets: `{error: {code, message}}`. */
export function sendError(reply: FastifyReply, status: number, code: ErrorCode | string, message: string): FastifyReply {
  return reply.status(status).type('application/json').send({ error: { code, message } });
}

const FASTIFY_CODES: Record<string, { status: number; code: ErrorCode }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'LLMCACHE_PAYLOAD_TOO_LARGE' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'LLMCACHE_UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'LLMCACHE_BAD_REQUEST' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'LLMCACHE_BAD_REQUEST' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'LLMCACHE_BAD_REQUEST' },
};

/**
 * The longest raw path parameter the router accepts: three times the 128 characters the route schemas
 * allow, so a percent-encoded id still reaches schema validation and its precise message.
 */
export const MAX_PARAM_LENGTH = 384;

/**
 * Errors the router raises before any route runs (a malformed URL, an over-long path parameter): the
 * same JSON error as everything else, and a 400 rather than Fastify's own body.
 */
export function frameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const path = request.url.split('?')[0] ?? '';
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH')
    sendError(reply, 400, 'LLMCACHE_VALIDATION', `a path parameter of ${path.slice(0, 200)} is longer than ${MAX_PARAM_LENGTH} characters`);
  else if (error.code === 'FST_ERR_BAD_URL') sendError(reply, 400, 'LLMCACHE_BAD_REQUEST', 'the URL path is not valid percent-encoding');
  else sendError(reply, 500, 'LLMCACHE_INTERNAL', 'internal error');
}

/** Maps every error to a JSON error; only a genuine fault of ours is a 5xx, and it says nothing internal. */
export function installErrorHandlers(app: FastifyInstance, logger: Logger, secrets: readonly string[] = []): void {
  // An upstream or a store may echo a credential in its error text: it never reaches the client.
  const scrub = secretScrubber(secrets);
  const scrubAll = (value: unknown): unknown => {
    if (typeof value === 'string') return scrub(value);
    if (Array.isArray(value)) return value.map(scrubAll);
    if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubAll(v)]));
    return value;
  };
  // Every field of an error, since one passed through from the upstream carries more than a message.
  app.addHook('preSerialization', async (_request, _reply, payload: unknown) => {
    const body = payload as { error?: unknown } | null;
    if (typeof body?.error === 'object' && body.error !== null) body.error = scrubAll(body.error);
    return payload;
  });
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof CacheError) {
      if (error.status >= 500) logger.warn({ reqId: request.id, code: error.code, msg: error.message }, 'request failed');
      return sendError(reply, error.status, error.code, error.message);
    }
    if (error.validation) {
      const where = error.validationContext ?? 'request';
      return sendError(
        reply,
        400,
        'LLMCACHE_VALIDATION',
        `${where} ${error.message.replace(/^(body|querystring|params|headers)\s*/, '')}`.trim(),
      );
    }
    const known = error.code ? FASTIFY_CODES[error.code] : undefined;
    if (known) return sendError(reply, known.status, known.code, error.message);
    if (error instanceof SyntaxError || (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500)) {
      return sendError(reply, error.statusCode ?? 400, 'LLMCACHE_BAD_REQUEST', error.message);
    }
    logger.error({ reqId: request.id, err: error }, 'unexpected error');
    return sendError(reply, 500, 'LLMCACHE_INTERNAL', 'internal error');
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, 'LLMCACHE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
  );
}
