import { Command, Option } from 'commander';
import { CacheError } from '@llm-cache/core';
import { loadConfig, unknownEnvKeys, type Config } from '@llm-cache/config';
import { defaultModelDir, ensureModel } from '@llm-cache/embedding';
import { openApiDocument } from '@llm-cache/gateway';
import { startEmbedded } from '@llm-cache/runtime';
import { createLogger } from '@llm-cache/telemetry';

interface ServerFlags {
  config?: string;
  host?: string;
  port?: string;
  dataDir?: string;
}

function configFrom(flags: ServerFlags): Config {
  const overrides: Record<string, unknown> = {};
  if (flags.host !== undefined) overrides.host = flags.host;
  if (flags.port !== undefined) overrides.port = Number(flags.port);
  if (flags.dataDir !== undefined) overrides.dataDir = flags.dataDir;
  return loadConfig({ ...(flags.config === undefined ? {} : { file: flags.config }), overrides });
}

function serverOptions(command: Command): Command {
  return command
    .addOption(new Option('-c, --config <file>', 'YAML or JSON configuration file').env('LLMCACHE_CONFIG'))
    .option('--host <host>', 'listen address (LLMCACHE_HOST)')
    .option('--port <port>', 'listen port (LLMCACHE_PORT)')
    .option('--data-dir <dir>', 'data folder (LLMCACHE_DATA_DIR)');
}

async function start(flags: ServerFlags): Promise<void> {
  const config = configFrom(flags);
  const logger = createLogger({ level: config.logLevel });
  for (const key of unknownEnvKeys()) logger.warn({ key }, 'unknown LLMCACHE_ environment variable ignored');
  if (config.mode !== 'embedded') throw new CacheError('LLMCACHE_CONFIG', 'mode: only "embedded" can be started with `start`');
  const cache = await startEmbedded(config, { logger });
  process.stdout.write(`LLM-Cache listening on ${cache.url} (embedded, data in ${config.dataDir})\n`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    cache.close().then(
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

const program = new Command('llm-cache').description('LLM-Cache: a semantic cache for LLM APIs').showHelpAfterError();

serverOptions(program.command('start').description('start every service in one process (embedded mode)')).action(start);

program
  .command('model')
  .description('manage the local embedding model')
  .command('fetch')
  .description('download the local ONNX embedding model if it is not cached yet')
  .option('--dir <dir>', 'model folder', defaultModelDir())
  .action(async (flags: { dir: string }) => {
    const dir = await ensureModel({ dir: flags.dir, fetch: true, log: (line: string) => process.stderr.write(`${line}\n`) });
    process.stderr.write(`model ready in ${dir}\n`);
  });

program
  .command('openapi')
  .description('print the OpenAPI document of the HTTP API')
  .action(async () => {
    process.stdout.write(await openApiDocument());
  });

program.parseAsync().catch((error: unknown) => {
  const message = error instanceof CacheError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
  process.stderr.write(`llm-cache: ${message}\n`);
  process.exit(error instanceof CacheError && error.code === 'LLMCACHE_CONFIG' ? 2 : 1);
});
