import type { FastifyInstance } from 'fastify';
import type { Embedder, TextWindow } from '@llm-cache/core';
import type { EventBus } from '@llm-cache/bus';
import type { DecisionSettings } from '@llm-cache/policy';
import type { CacheStores, ThresholdBook, TokenStore } from '@llm-cache/storage';
import type { Logger, Metrics } from '@llm-cache/telemetry';
import { Authenticator } from './auth.ts';
import { GatewayCache } from './gateway-cache.ts';
import { buildHttpServer, type HttpLimits, type ListenerTls } from './server.ts';
import type { Pricing, TemperaturePolicy, UpstreamOptions } from './http/chat-routes.ts';
import type { CacheRouteDefaults } from './http/cache-routes.ts';
import type { ExactTierOptions } from './exact-tier.ts';

export interface GatewayServiceDeps {
  bus: EventBus;
  stores: CacheStores;
  logger: Logger;
  metrics: Metrics;
  embedder: () => Promise<Embedder>;
  /** The embedder's window: prompts longer than it are split before they are matched (coverText). */
  window: TextWindow;
  readiness: Record<string, () => Promise<void>>;
  host: string;
  port: number;
  /** The thresholds in force per tenant and namespace (the process's, shared with its matcher). */
  thresholds: ThresholdBook;
  defaults: CacheRouteDefaults;
  upstream: UpstreamOptions;
  temperature: TemperaturePolicy;
  pricing: Pricing;
  /** Absent: no exact tier. */
  exactTier: (ExactTierOptions & { enabled: boolean }) | undefined;
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

/** A gateway that is wired and subscribed to its replies, with its HTTP server built but not listening. */
export interface BuiltGateway {
  app: FastifyInstance;
  cache: GatewayCache;
  close(): Promise<void>;
}

/** Wires the gateway's cache, token checks and HTTP server, and subscribes to its replies. */
export async function buildGateway(deps: Omit<GatewayServiceDeps, 'host' | 'port'>): Promise<BuiltGateway> {
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
    thresholds: deps.thresholds,
    window: deps.window,
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
    tls: deps.tls,
    ...(deps.http ? { http: deps.http } : {}),
    ...(deps.secrets ? { secrets: deps.secrets } : {}),
  });
  return {
    app,
    cache,
    close: async () => {
      await app.close();
      await cache.close();
    },
  };
}
