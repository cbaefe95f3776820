import { CacheError } from '@llm-cache/core';
import { loadConfig, secretsOf, unknownEnvKeys, type Config } from '@llm-cache/config';
import { SERVICE_NAMES, startEmbedded, type ServiceName } from '@llm-cache/runtime';
import { createLogger, type Logger } from '@llm-cache/telemetry';

export interface ServerFlags {
  config?: string;
  host?: string;
  port?: string;
  dataDir?: string;
}

export function configFrom(flags: ServerFlags, overrides: Record<string, unknown> = {}): Config {
  const merged: Record<string, unknown> = { ...overrides };
  if (flags.host !== undefined) merged.host = flags.host;
  if (flags.port !== undefined) merged.port = Number(flags.port);
  if (flags.dataDir !== undefined) merged.dataDir = flags.dataDir;
  return loadConfig({ ...(flags.config === undefined ? {} : { file: flags.config }), overrides: merged });
}

function loggerFor(config: Config): Logger {
  const logger = createLogger({ level: config.logLevel, secrets: secretsOf(config) });
  for (const key of unknownEnvKeys()) logger.warn({ key }, 'unknown LLMCACHE_ environment variable ignored');
  return logger;
}

/** Closes on SIGINT or SIGTERM, then exits. */
function stopOnSignals(logger: Logger, close: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/** `llm-cache start`: every service in one process, embedded adapters. */
export async function startCommand(flags: ServerFlags): Promise<void> {
  const config = configFrom(flags);
  if (config.mode !== 'embedded') {
    throw new CacheError(
      'LLMCACHE_CONFIG',
      'mode is "distributed": run each service with `llm-cache service <name>` (or `npm run start:distributed`)',
    );
  }
  const logger = loggerFor(config);
  const cache = await startEmbedded(config, { logger });
  process.stdout.write(`LLM-Cache listening on ${cache.url} (embedded, data in ${config.dataDir})\n`);
  stopOnSignals(logger, () => cache.close());
}

/** `llm-cache service <names...>`: the named services in this process, distributed adapters. */
export async function serviceCommand(names: string[], flags: ServerFlags): Promise<void> {
  const unknown = names.filter((name) => !(SERVICE_NAMES as readonly string[]).includes(name));
  if (names.length === 0 || unknown.length > 0) {
    throw new CacheError(
      'LLMCACHE_CONFIG',
      `unknown service ${unknown.join(', ') || '(none given)'}: choose from ${SERVICE_NAMES.join(', ')}`,
    );
  }
  const config = configFrom(flags, { mode: 'distributed' });
  const logger = loggerFor(config);
  const { startDistributed } = await import('@llm-cache/runtime/distributed');
  const running = await startDistributed(config, names as ServiceName[], { logger });
  const where = running.gateway ? `, listening on ${running.gateway.url}` : '';
  process.stdout.write(`LLM-Cache ${names.join(', ')} running (distributed${where})\n`);
  stopOnSignals(logger, () => running.close());
}
