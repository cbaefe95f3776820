import { byteWindow } from '@llm-cache/core';
import { MemoryBus } from '@llm-cache/bus';
import { openSqlite, sqliteCacheStores, SqliteTokenStore, ThresholdBook } from '@llm-cache/storage';
import { createLogger, Metrics } from '@llm-cache/telemetry';
import { buildGateway, type BuiltGateway } from './gateway.ts';

export interface IdleGateway extends BuiltGateway {
  bus: MemoryBus;
}

/**
 * The gateway, built as a running one is, on in-memory SQLite stores and the in-process bus, with no
 * embedder, matcher or upstream behind it: enough to generate the OpenAPI document and to test the
 * admin API. Without `authRequired` every caller is admin of the default tenant.
 */
export async function idleGateway(options: { authRequired: boolean }): Promise<IdleGateway> {
  const db = openSqlite(':memory:');
  const bus = new MemoryBus();
  const stores = sqliteCacheStores(db, '/nonexistent');
  const gateway = await buildGateway({
    bus,
    stores,
    logger: createLogger({ level: 'silent' }),
    metrics: new Metrics({ defaultMetrics: false }),
    embedder: () => Promise.reject(new Error('not used')),
    window: byteWindow(8191),
    readiness: {},
    thresholds: new ThresholdBook(stores.thresholds, 0.8),
    defaults: { tenant: 'default', namespace: 'default', model: 'default' },
    upstream: { baseUrl: undefined, apiKey: undefined, timeoutMs: 1 },
    temperature: { above: 1, action: 'bypass' },
    pricing: {},
    exactTier: undefined,
    defaultTtlSeconds: 0,
    lookupTimeoutMs: 100,
    writeTimeoutMs: 100,
    maxBodyBytes: 65_536,
    maxJsonDepth: 32,
    rateLimit: { perSecond: 0, burst: 1 },
    tokens: new SqliteTokenStore(db),
    auth: { required: options.authRequired },
  });
  return {
    ...gateway,
    bus,
    close: async () => {
      await gateway.close();
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
