import { Command, Option } from 'commander';
import { CacheError } from '@llm-cache/core';
import { defaultModelDir, ensureModel } from '@llm-cache/embedding';
import { openApiDocument } from '@llm-cache/gateway';
import { SERVICE_NAMES } from '@llm-cache/runtime';
import { clusterCommand } from './commands/cluster.ts';
import { serviceCommand, startCommand } from './commands/serve.ts';
import { exportCommand, importCommand } from './commands/transfer.ts';
import { secretEncryptCommand, secretKeygenCommand, tokenCreateCommand, tokenListCommand, tokenRevokeCommand } from './commands/admin.ts';
// The replay command loads the Kafka, Milvus, MongoDB and S3 clients: imported only when it runs.
import type { replayCommand as ReplayCommand } from './commands/replay.ts';

function serverOptions(command: Command): Command {
  return command
    .addOption(new Option('-c, --config <file>', 'YAML or JSON configuration file').env('LLMCACHE_CONFIG'))
    .option('--host <host>', 'listen address (LLMCACHE_HOST)')
    .option('--port <port>', 'listen port (LLMCACHE_PORT)')
    .option('--data-dir <dir>', 'data folder (LLMCACHE_DATA_DIR)');
}

const program = new Command('llm-cache').description('LLM-Cache: a semantic cache for LLM APIs').showHelpAfterError();

serverOptions(program.command('start').description('start every service in one process (embedded mode)')).action(startCommand);

serverOptions(
  program
    .command('service')
    .description(`run services in this process on the distributed adapters (Kafka, Milvus, MongoDB, S3): ${SERVICE_NAMES.join(', ')}`)
    .argument('<names...>', 'services to run'),
).action(serviceCommand);

program
  .command('cluster')
  .description('run one process per service on the distributed adapters, output prefixed by service')
  .option('--matchers <n>', 'matcher processes', '1')
  .option('--gateways <n>', 'gateway processes (ports LLMCACHE_PORT, +1, ...)', '1')
  .option('--stack', "use the local stack's addresses and credentials (written by npm run stack:up) as the configuration file")
  .action(async (flags: { matchers: string; gateways: string; stack?: boolean }) =>
    clusterCommand({ replicas: { matcher: Number(flags.matchers), gateway: Number(flags.gateways) }, stack: flags.stack === true }),
  );

serverOptions(
  program
    .command('replay')
    .description('rebuild the configured cache from the write topic, from the beginning')
    .option('--idle-seconds <s>', 'stop after this long without a new event', '10'),
).action(async (flags: Parameters<typeof ReplayCommand>[0]) => (await import('./commands/replay.ts')).replayCommand(flags));

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
  .command('export')
  .description("export the gateway tenant's live entries as JSON lines (vectors and embedding-model fingerprint included)")
  .option('--url <url>', 'gateway base URL', 'http://127.0.0.1:8080')
  .option('--out <file>', 'write to a file instead of standard output')
  .addOption(new Option('--token <token>', 'API token').env('LLMCACHE_TOKEN'))
  .action(exportCommand);

program
  .command('import')
  .description('import a file written by export through the gateway, waiting until every entry is stored')
  .argument('<file>', 'JSON lines from llm-cache export')
  .option('--url <url>', 'gateway base URL', 'http://127.0.0.1:8080')
  .option('--batch <n>', 'entries per request', '200')
  .addOption(new Option('--token <token>', 'API token').env('LLMCACHE_TOKEN'))
  .action(importCommand);

function gatewayOptions(command: Command): Command {
  return command
    .option('--url <url>', 'gateway base URL', 'http://127.0.0.1:8080')
    .addOption(new Option('--token <token>', 'admin API token').env('LLMCACHE_TOKEN'));
}

const token = program.command('token').description('manage API tokens through the admin API');
gatewayOptions(
  token
    .command('create')
    .description('create a token; its secret is printed once')
    .requiredOption('--name <name>', 'what the token is for')
    .addOption(
      new Option('--role <role>', 'what it may do (metrics: read /metrics only; made by the bootstrap admin)')
        .choices(['reader', 'writer', 'admin', 'metrics'])
        .makeOptionMandatory(),
    )
    .option('--tenant <tenant>', "the tenant it acts for (default: the caller's; none for metrics)"),
).action(tokenCreateCommand);
gatewayOptions(token.command('list').description("list the tenant's tokens (never their secrets)")).action(tokenListCommand);
gatewayOptions(token.command('revoke').description('revoke a token by id').argument('<id>', 'token id')).action(tokenRevokeCommand);

const secret = program.command('secret').description('encrypt secrets for the config file (AES-256-GCM)');
secret.command('keygen').description('print a new random key for LLMCACHE_SECRET_KEY or a key file').action(secretKeygenCommand);
secret
  .command('encrypt')
  .description('read a secret on standard input and print its enc:v1: form (key from LLMCACHE_SECRET_KEY or LLMCACHE_SECRET_KEY_FILE)')
  .action(secretEncryptCommand);

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
