import type { FastifyInstance } from 'fastify';
import { CacheError, type Embedder, type RunningService } from '@llm-cache/core';
import type { EventBus } from '@llm-cache/bus';
import type { DecisionSettings } from '@llm-cache/policy';
import type { CacheStores, TokenStore } from '@llm-cache/storage';
import { Authenticator } from './auth.ts';
import type { Logger, Metrics } from '@llm-cache/telemetry';
import { GatewayCache } from './gateway-cache.ts';
import { buildHttpServer } from './server.ts';
import type { Pricing, TemperaturePolicy, UpstreamOptions } from './http/chat-routes.ts';
import type { CacheRouteDefaults } from './http/cache-routes.ts';
import type { ExactTierOptions } from './exact-tier.ts';
import type { HttpLimits, ListenerTls } from './server.ts';

export { GatewayCache } from './gateway-cache.ts';
export { ExactTier } from './exact-tier.ts';
export { buildHttpServer, type ListenerTls } from './server.ts';
export { parseCacheControl } from './http/cache-control.ts';
export { Authenticator, hashToken, type Principal } from './auth.ts';

const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

export interface GatewayServiceDeps {
  bus: EventBus;
  stores: CacheStores;
  logger: Logger;
  metrics: Metrics;
  embedder: () => Promise<Embedder>;
  readiness: Record<string, () => Promise<void>>;
  host: string;
  port: number;
  threshold: number;
  defaults: CacheRouteDefaults;
  upstream: UpstreamOptions;
  temperature: TemperaturePolicy;
  pricing: Pricing;
  exactTier: ExactTierOptions & { enabled: boolean };
  defaultTtlSeconds: number;
  lookupTimeoutMs: number;
  writeTimeoutMs: number;
  maxBodyBytes: number;
  maxJsonDepth: number;
  rateLimit: { perSecond: number; burst: number };
  tokens: TokenStore;
  auth: { required: boolean; adminToken?: string | undefined };
  /** With these the gateway listens with HTTPS only. */
  tls?: ListenerTls | undefined;
  http?: HttpLimits;
  /** Secret values (API keys, passwords) scrubbed from every error message the gateway sends. */
  secrets?: readonly string[];
  /** The decision policy of each namespace (all static when absent). */
  decision?: DecisionSettings;
}

export interface RunningGateway extends RunningService {
  readonly app: FastifyInstance;
  readonly cache: GatewayCache;
  /** The base URL the gateway listens on. */
  readonly url: string;
}

/** Starts the gateway: subscribes to its replies, then listens for HTTP. */
export async function startGateway(deps: GatewayServiceDeps): Promise<RunningGateway> {
  if (!deps.auth.required && !isLoopback(deps.host)) {
    throw new CacheError(
      'LLMCACHE_CONFIG',
      `host ${deps.host} is not a loopback address: set auth.required (LLMCACHE_AUTH_REQUIRED=true) and create tokens before listening there`,
    );
  }
  const { tls } = deps;
  const auth = new Authenticator({
    required: deps.auth.required,
    adminToken: deps.auth.adminToken,
    defaultTenant: deps.defaults.tenant,
    tokens: deps.tokens,
    announceRevocation: () => cache.announceTokensRevoked(),
  });
  const cache = new GatewayCache({
    bus: deps.bus,
    stores: deps.stores,
    logger: deps.logger,
    metrics: deps.metrics,
    threshold: deps.threshold,
    defaultTtlSeconds: deps.defaultTtlSeconds,
    lookupTimeoutMs: deps.lookupTimeoutMs,
    writeTimeoutMs: deps.writeTimeoutMs,
    exactTier: deps.exactTier,
    ...(deps.decision ? { decision: deps.decision } : {}),
    onTokensRevoked: () => auth.forget(),
  });
  await cache.start();
  const app = await buildHttpServer({
    cache,
    logger: deps.logger,
    metrics: deps.metrics,
    defaults: deps.defaults,
    upstream: deps.upstream,
    temperature: deps.temperature,
    pricing: deps.pricing,
    embedder: deps.embedder,
    readiness: deps.readiness,
    maxBodyBytes: deps.maxBodyBytes,
    maxJsonDepth: deps.maxJsonDepth,
    rateLimit: deps.rateLimit,
    auth,
    tls,
    ...(deps.http ? { http: deps.http } : {}),
    ...(deps.secrets ? { secrets: deps.secrets } : {}),
  });
  await app.listen({ host: deps.host, port: deps.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : deps.port;
  const host = deps.host.includes(':') ? `[${deps.host}]` : deps.host;
  return {
    name: 'gateway',
    app,
    cache,
    url: `${tls ? 'https' : 'http'}://${host}:${port}`,
    close: async () => {
      await app.close();
      await cache.close();
    },
  };
}
export { idleGateway, openApiDocument, type IdleGateway } from './openapi.ts';
