import type { FastifyInstance } from 'fastify';
import { MemoryBus } from '@llm-cache/bus';
import { openSqlite, sqliteCacheStores, SqliteTokenStore } from '@llm-cache/storage';
import { Authenticator } from './auth.ts';
import { createLogger, Metrics } from '@llm-cache/telemetry';
import { GatewayCache } from './gateway-cache.ts';
import { buildHttpServer } from './server.ts';

export interface IdleGateway {
  app: FastifyInstance;
  bus: MemoryBus;
  close(): Promise<void>;
}

/**
 * The gateway's HTTP server on in-memory SQLite stores and the in-process bus, with no embedder,
 * matcher or upstream behind it: enough to generate the OpenAPI document and to test the admin API.
 * Without `authRequired` every caller is admin of the default tenant.
 */
export async function idleGateway(options: { authRequired: boolean }): Promise<IdleGateway> {
  const logger = createLogger({ level: 'silent' });
  const metrics = new Metrics({ defaultMetrics: false });
  const db = openSqlite(':memory:');
  const bus = new MemoryBus();
  const cache = new GatewayCache({
    bus,
    stores: sqliteCacheStores(db, '/nonexistent'),
    logger,
    metrics,
    threshold: 0.8,
    defaultTtlSeconds: 0,
    lookupTimeoutMs: 100,
    writeTimeoutMs: 100,
    exactTier: undefined,
  });
  await cache.start();
  const app = await buildHttpServer({
    cache,
    logger,
    metrics,
    defaults: { tenant: 'default', namespace: 'default', model: 'default' },
    upstream: { baseUrl: undefined, apiKey: undefined, timeoutMs: 1 },
    temperature: { above: 1, action: 'bypass' },
    pricing: {},
    embedder: () => Promise.reject(new Error('not used')),
    readiness: {},
    maxBodyBytes: 65_536,
    maxJsonDepth: 32,
    rateLimit: { perSecond: 0, burst: 1 },
    auth: new Authenticator({
      required: options.authRequired,
      adminToken: undefined,
      defaultTenant: 'default',
      tokens: new SqliteTokenStore(db),
    }),
  });
  return {
    app,
    bus,
    close: async () => {
      await app.close();
      await cache.close();
      db.close();
    },
  };
}

/** The OpenAPI document (YAML) of the HTTP API, generated from the route schemas of a real, idle server. */
export async function openApiDocument(): Promise<string> {
  const gateway = await idleGateway({ authRequired: true });
  try {
    await gateway.app.ready();
    return gateway.app.swagger({ yaml: true });
  } finally {
    await gateway.close();
  }
}
