import { MemoryBus } from '@llm-cache/bus';
import { openSqlite, sqliteCacheStores, SqliteTokenStore } from '@llm-cache/storage';
import { Authenticator } from './auth.ts';
import { createLogger, Metrics } from '@llm-cache/telemetry';
import { GatewayCache } from './gateway-cache.ts';
import { buildHttpServer } from './server.ts';

/** The OpenAPI document (YAML) of the HTTP API, generated from the route schemas of a real, idle server. */
export async function openApiDocument(): Promise<string> {
  const logger = createLogger({ level: 'silent' });
  const metrics = new Metrics({ defaultMetrics: false });
  const db = openSqlite(':memory:');
  const stores = sqliteCacheStores(db, '/nonexistent');
  const bus = new MemoryBus();
  const cache = new GatewayCache({
    bus,
    stores,
    logger,
    metrics,
    threshold: 0.8,
    defaultTtlSeconds: 0,
    lookupTimeoutMs: 1,
    writeTimeoutMs: 1,
    exactTier: undefined,
  });
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
    maxBodyBytes: 1,
    maxJsonDepth: 32,
    rateLimit: { perSecond: 0, burst: 1 },
    auth: new Authenticator({ required: true, adminToken: undefined, defaultTenant: 'default', tokens: new SqliteTokenStore(db) }),
  });
  await app.ready();
  const document = app.swagger({ yaml: true });
  await app.close();
  db.close();
  return document;
}
