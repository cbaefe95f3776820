import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { CacheError, type ErrorCode } from '@llm-cache/core';

/** The limits the refusals name. */
export interface ProtocolLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  maxHeaderBytes: number;
}

/** A JSON error written straight to the socket, as an HTTP/1.1 response that closes the connection. */
function rawError(status: number, code: ErrorCode, message: string): string {
  const body = JSON.stringify({ error: { code, message } });
  return [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

const BAD_FRAMING: Record<string, string> = {
  HPE_INVALID_CONTENT_LENGTH: 'the Content-Length header is not a number',
  HPE_UNEXPECTED_CONTENT_LENGTH: 'Content-Length and Transfer-Encoding: chunked do not go together',
  HPE_INVALID_TRANSFER_ENCODING: 'the Transfer-Encoding header is not valid',
  HPE_INVALID_CHUNK_SIZE: 'a chunk size of the chunked body is not valid',
  HPE_INVALID_METHOD: 'the request line has no valid HTTP method',
  HPE_INVALID_URL: 'the request line has no valid URL',
  HPE_INVALID_VERSION: 'the request line has no valid HTTP version',
  HPE_INVALID_HEADER_TOKEN: 'a header line is not valid',
};

/**
 * Fastify's clientErrorHandler: what Node's HTTP parser refuses before any route runs (malformed
 * bytes, a head over `maxHeaderBytes`, a client too slow to send its request) gets the API's JSON
 * error, and the connection is closed.
 */
export function clientErrorHandler(limits: ProtocolLimits): (error: Error & { code?: string }, socket: Socket) => void {
  return (error, socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    let answer: string;
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      answer = rawError(
        408,
        'LLMCACHE_REQUEST_TIMEOUT',
        `the request took too long to arrive (headers within ${limits.headersTimeoutMs} ms, all of it within ${limits.requestTimeoutMs} ms)`,
      );
    } else if (error.code === 'HPE_HEADER_OVERFLOW') {
      answer = rawError(431, 'LLMCACHE_HEADERS_TOO_LARGE', `the request line and headers exceed ${limits.maxHeaderBytes} bytes`);
    } else {
      const reason = (error.code && BAD_FRAMING[error.code]) ?? 'the request is not valid HTTP/1.1';
      answer = rawError(400, 'LLMCACHE_BAD_REQUEST', `malformed HTTP request: ${reason}`);
    }
    // As Node itself does: the answer goes out at once (it is small), then the connection is closed.
    if (socket.writable) socket.write(answer);
    socket.destroy();
  };
}

/**
 * The answers Node and Fastify would otherwise write themselves, with bodies of their own: a missing
 * Host (Node's requireHostHeader must be off for this), an Expect other than 100-continue, and a
 * request that arrives while the server closes (Fastify's return503OnClosing must be off).
 */
export function installProtocolErrors(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (request, reply) => {
    if (closing) {
      reply.header('connection', 'close');
      throw new CacheError('LLMCACHE_UNAVAILABLE', 'the server is shutting down; retry on another instance');
    }
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined)
      throw new CacheError('LLMCACHE_BAD_REQUEST', 'an HTTP/1.1 request needs a Host header');
  });
  app.server.on('checkExpectation', (request, response) => {
    const body = JSON.stringify({
      error: { code: 'LLMCACHE_BAD_REQUEST', message: `expectation ${String(request.headers.expect).slice(0, 100)} is not supported` },
    });
    response
      .writeHead(417, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' })
      .end(body);
  });
}
