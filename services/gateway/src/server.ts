import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import type { Embedder } from '@llm-cache/core';
import type { Logger, Metrics } from '@llm-cache/telemetry';
import type { GatewayCache } from './gateway-cache.ts';
import { registerCacheRoutes, type CacheRouteDefaults } from './http/cache-routes.ts';
import { registerChatRoutes, type Pricing, type TemperaturePolicy, type UpstreamOptions } from './http/chat-routes.ts';
import { frameworkError, installErrorHandlers, MAX_PARAM_LENGTH } from './http/errors.ts';
import { installAuth, registerTokenRoutes } from './http/auth-routes.ts';
import { installJsonParser, installRateLimit } from './http/limits.ts';
import { limitConnections } from './http/connections.ts';
import { clientErrorHandler, installProtocolErrors } from './http/protocol-errors.ts';
import type { Authenticator } from './auth.ts';
import { clientRequestId, requestIdHeaders } from './http/request-id.ts';
import { registerOpsRoutes } from './http/ops-routes.ts';
import { registerAdminPage } from './http/admin-page.ts';
import { registerDecisionRoutes } from './http/decision-routes.ts';
import { registerThresholdRoutes } from './http/threshold-routes.ts';
import { errorSchema, messageSchema } from './http/schemas.ts';

export interface HttpServerOptions {
  cache: GatewayCache;
  logger: Logger;
  metrics: Metrics;
  defaults: CacheRouteDefaults;
  upstream: UpstreamOptions;
  temperature: TemperaturePolicy;
  pricing: Pricing;
  embedder: () => Promise<Embedder>;
  readiness: Record<string, () => Promise<void>>;
  maxBodyBytes: number;
  maxJsonDepth: number;
  rateLimit: { perSecond: number; burst: number };
  auth: Authenticator;
  /** HTTPS when set: PEM key and certificate. */
  tls?: ListenerTls | undefined;
  http?: HttpLimits;
  /** Values scrubbed from every error message sent to a client. */
  secrets?: readonly string[];
}

/** What the HTTPS listener needs: the PEM key and certificate, read once at start. */
export interface ListenerTls {
  key: Buffer;
  cert: Buffer;
  passphrase?: string | undefined;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
}

export interface HttpLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxHeaderBytes: number;
  /** Open connections at most (see limitConnections). */
  maxConnections: number;
}

const DEFAULT_LIMITS: HttpLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 72_000,
  maxHeaderBytes: 16_384,
  maxConnections: 10_000,
};

/** The gateway's HTTP API on Fastify: cache API, OpenAI-compatible routes, admin and health. */
export async function buildHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  const limits = options.http ?? DEFAULT_LIMITS;
  // Slow clients: headersTimeout and requestTimeout bound how long a client may take to send its
  // request (checked every connectionsCheckingInterval); headersTimeout also runs from the moment a
  // connection opens, so one that never sends a byte is closed after it (and, with TLS, one that never
  // finishes its handshake). No idle timeout on the socket itself, so a slow upstream answer or a long
  // stream is not cut off while the gateway is the one working. Host is checked by installProtocolErrors.
  const serverOptions = {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    requireHostHeader: false,
  };
  const app = Fastify({
    logger: false,
    bodyLimit: options.maxBodyBytes,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: frameworkError,
    connectionTimeout: 0,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: Math.max(limits.requestTimeoutMs, limits.headersTimeoutMs),
    ...(options.tls
      ? {
          https: {
            ...serverOptions,
            key: options.tls.key,
            cert: options.tls.cert,
            minVersion: options.tls.minVersion,
            handshakeTimeout: limits.headersTimeoutMs,
            ...(options.tls.passphrase === undefined ? {} : { passphrase: options.tls.passphrase }),
          },
        }
      : { http: serverOptions }),
    // Both answered with the API's JSON error instead (protocol-errors.ts).
    clientErrorHandler: clientErrorHandler(limits),
    return503OnClosing: false,
    // The request id correlates a request's events and replies across tenants and gateways, so it is
    // always the server's own (random, unguessable); a client's x-request-id is only logged and echoed.
    genReqId: () => randomUUID(),
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'LLM-Cache',
        version: '1.0.0',
        description: 'Semantic cache for LLM APIs: a cache API and an OpenAI-compatible endpoint.',
      },
      servers: [{ url: 'http://127.0.0.1:8080' }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  // Every route takes JSON; anything else is refused with 415 rather than parsed as text.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/x-ndjson', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  app.addSchema(errorSchema);
  app.addSchema(messageSchema);
  limitConnections(app.server, limits.maxConnections, options.tls !== undefined);
  installErrorHandlers(app, options.logger, options.secrets ?? []);
  installProtocolErrors(app);
  installAuth(app, options.auth);
  installJsonParser(app, options.maxJsonDepth);
  installRateLimit(app, options.rateLimit);
  app.addHook('onSend', async (request, reply) => {
    reply.headers(requestIdHeaders(request));
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    options.metrics.requests.inc({ route, status: String(reply.statusCode) });
    // The access log: the request id here is the one every event of the request carries.
    options.logger.debug(
      {
        reqId: request.id,
        clientRequestId: clientRequestId(request),
        method: request.method,
        route,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request',
    );
  });
  registerCacheRoutes(app, options.cache, options.defaults);
  registerTokenRoutes(app, options.auth, options.defaults.tenant);
  registerChatRoutes(app, {
    temperature: options.temperature,
    pricing: options.pricing,
    cache: options.cache,
    defaults: options.defaults,
    upstream: options.upstream,
    logger: options.logger,
    metrics: options.metrics,
  });
  registerOpsRoutes(app, {
    tenant: options.defaults.tenant,
    cache: options.cache,
    metrics: options.metrics,
    embedder: options.embedder,
    readiness: options.readiness,
  });
  registerThresholdRoutes(app, options.cache, options.defaults.tenant);
  registerAdminPage(app);
  registerDecisionRoutes(app, options.cache, options.defaults);
  return app;
}
