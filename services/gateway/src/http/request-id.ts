import type { FastifyRequest } from 'fastify';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The caller's own x-request-id when it is a valid one. It is logged and echoed, never used to
 * correlate anything: replies, acknowledgements and feedback go by the server's id (`request.id`).
 */
export function clientRequestId(request: FastifyRequest): string | undefined {
  const header = request.headers['x-request-id'];
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : undefined;
}

/** The id headers of every response: the server's id, and the caller's echoed (or the server's). */
export function requestIdHeaders(request: FastifyRequest): { 'x-llmcache-request-id': string; 'x-request-id': string } {
  return { 'x-llmcache-request-id': request.id, 'x-request-id': clientRequestId(request) ?? request.id };
}
