import type { Embedder, RunningService, TextWindow } from '@llm-cache/core';
import { secretsOf, type Config } from '@llm-cache/config';
import type { EventBus } from '@llm-cache/bus';
import { ThresholdBook, type CacheStores, type TokenStore } from '@llm-cache/storage';
import type { Logger, Metrics } from '@llm-cache/telemetry';
import { startGateway, type RunningGateway } from '@llm-cache/gateway';
import { listenerTls } from './client-options.ts';
import { startEmbedder } from '@llm-cache/embedder';
import { startMatcher } from '@llm-cache/matcher';
import { startWriter } from '@llm-cache/writer';
import { startEvictor } from '@llm-cache/evictor';

export const SERVICE_NAMES = ['writer', 'matcher', 'embedder', 'evictor', 'gateway'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface ServiceContext {
  config: Config;
  bus: EventBus;
  stores: CacheStores;
  tokens: TokenStore;
  /** The embedder, created on first use (only the embedder service and /v1/embeddings need it). */
  embedder: () => Promise<Embedder>;
  /** The embedder's window, without loading the model when this process does not embed. */
  window: () => Promise<TextWindow>;
  logger: Logger;
  metrics: Metrics;
  /** Dependencies /readyz checks. */
  readiness: Record<string, () => Promise<void>>;
}

export interface StartedServices {
  services: RunningService[];
  gateway: RunningGateway | undefined;
}

/** Starts the named services on shared adapters, consumers first and the gateway last. */
export async function startServices(names: readonly ServiceName[], context: ServiceContext): Promise<StartedServices> {
  const { config, bus, stores, logger, metrics } = context;
  metrics.limitNamespaces(config.metricsNamespaces);
  const services: RunningService[] = [];
  let gateway: RunningGateway | undefined;
  const ordered = SERVICE_NAMES.filter((name) => names.includes(name));
  // One view of the runtime thresholds per process, shared by its gateway and matcher.
  const thresholds = new ThresholdBook(stores.thresholds, config.threshold, { logger });
  if (ordered.includes('gateway') || ordered.includes('matcher')) {
    await thresholds.start();
    services.push({ name: 'thresholds', close: async () => thresholds.close() });
  }
  try {
    for (const name of ordered) {
      const child = logger.child({ service: name });
      switch (name) {
        case 'writer':
          services.push(
            await startWriter({
              bus,
              stores,
              logger: child,
              metrics,
              objectThresholdBytes: config.objectThresholdBytes,
              embedder: context.embedder,
              answerSimilarity: config.decision.answerSimilarity,
              feedbackWindowSeconds: config.decision.feedbackWindowSeconds,
            }),
          );
          break;
        case 'matcher':
          services.push(
            await startMatcher({
              bus,
              stores,
              logger: child,
              metrics,
              thresholds,
              concurrency: config.kafka.concurrency,
              decision: config.decision,
            }),
          );
          break;
        case 'embedder':
          services.push(await startEmbedder({ bus, embedder: await context.embedder(), logger: child, metrics, concurrency: 256 }));
          break;
        case 'evictor':
          services.push(await startEvictor({ bus, stores, logger: child, metrics, limits: config.eviction }));
          break;
        case 'gateway':
          gateway = await startGateway({
            bus,
            stores,
            logger: child,
            metrics,
            embedder: context.embedder,
            window: await context.window(),
            readiness: context.readiness,
            host: config.host,
            port: config.port,
            thresholds,
            defaults: { tenant: config.defaultTenant, namespace: config.defaultNamespace, model: config.defaultModel },
            upstream: config.upstream,
            temperature: config.highTemperature,
            pricing: config.pricing,
            exactTier: config.exactTier,
            defaultTtlSeconds: config.ttlSeconds,
            lookupTimeoutMs: config.lookupTimeoutMs,
            writeTimeoutMs: config.writeTimeoutMs,
            maxBodyBytes: config.maxBodyBytes,
            maxJsonDepth: config.maxJsonDepth,
            rateLimit: config.rateLimit,
            tokens: context.tokens,
            auth: config.auth,
            tls: listenerTls(config.tls),
            http: config.http,
            secrets: secretsOf(config),
            decision: config.decision,
          });
          services.push(gateway);
          break;
      }
    }
    metrics.watchLag(() => bus.lag());
    // One process reports the stores' sizes (they are shared): the one that runs the evictor.
    if (ordered.includes('evictor')) {
      metrics.watchNamespaces(() => stores.entries.namespaceStats());
      metrics.watchFalseHits(() => stores.outcomes.falseHitTotals());
    }
    return { services, gateway };
  } catch (error) {
    await stopServices(services);
    throw error;
  }
}

/** Stops services in reverse start order (the gateway first, so no new work arrives). */
export async function stopServices(services: RunningService[]): Promise<void> {
  for (const service of [...services].reverse()) await service.close().catch(() => undefined);
}

/** Memoizes an async factory so concurrent first calls share one instance. */
export function lazy<T>(factory: () => Promise<T>): (() => Promise<T>) & { created: () => T | undefined } {
  let promise: Promise<T> | undefined;
  let value: T | undefined;
  const get = (): Promise<T> =>
    (promise ??= factory().then(
      (created) => (value = created),
      (error: unknown) => {
        promise = undefined;
        throw error;
      },
    ));
  return Object.assign(get, { created: () => value });
}
