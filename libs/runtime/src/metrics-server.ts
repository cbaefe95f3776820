import { createServer, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CacheError, toCacheError } from '@llm-cache/core';
import { allows, Authenticator } from '@llm-cache/gateway';
import type { TokenStore } from '@llm-cache/storage';
import type { Metrics } from '@llm-cache/telemetry';

export interface MetricsServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Resolves when the Authorization header may read the metrics; throws a CacheError (401, 403) when not. */
export type MetricsAccess = (authorization: string | undefined) => Promise<void>;

/**
 * The gateway's rule for /metrics when tokens are required: a metrics token or the bootstrap admin.
 * Tokens are cached for 5 s, so a revoked one is refused here within 5 s.
 */
export function metricsAccess(options: { adminToken: string | undefined; defaultTenant: string; tokens: TokenStore }): MetricsAccess {
  const auth = new Authenticator({ required: true, ...options });
  return async (authorization) => {
    const principal = await auth.authenticate(authorization);
    if (!allows(principal, 'metrics'))
      throw new CacheError('LLMCACHE_FORBIDDEN', `/metrics needs a metrics token; the token has ${principal.role}`);
  };
}

const sendError = (response: ServerResponse, error: CacheError): void => {
  response
    .writeHead(error.status, { 'content-type': 'application/json' })
    .end(JSON.stringify({ error: { code: error.code, message: error.status >= 500 ? 'internal error' : error.message } }));
};

/**
 * /metrics and /healthz for a process that runs services but no gateway (a distributed writer,
 * matcher, embedder or evictor), so their stage latencies and consumer lag can be scraped too. With
 * `access` (tokens required), /metrics needs a credential as at the gateway.
 */
export async function startMetricsServer(metrics: Metrics, host: string, port: number, access?: MetricsAccess): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    const path = request.url?.split('?')[0];
    if (request.method === 'GET' && path === '/metrics') {
      Promise.resolve(access?.(request.headers.authorization))
        .then(() => metrics.registry.metrics())
        .then(
          (text) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
          (error: unknown) => sendError(response, toCacheError(error)),
        );
      return;
    }
    if (request.method === 'GET' && path === '/healthz') {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    sendError(response, new CacheError('LLMCACHE_NOT_FOUND', `no route ${request.method} ${path}`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
