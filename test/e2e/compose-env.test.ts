/**
 * The compose deployment without a Docker engine. docker-compose.yml is resolved the way compose
 * resolves it (YAML anchors and merge keys, `${VAR}` forms with the values of .env.example and, as the
 * README says, a freshly generated bootstrap token), and its five LLM-Cache services are started as
 * the image's ENTRYPOINT runs them, each with exactly its compose command and environment on top of
 * the Dockerfile's ENV, in a clean environment (no LLMCACHE_* from this process). Then every
 * healthcheck command of compose must pass, and the gateway must store and answer with the token from
 * the env file and refuse a request without one.
 *
 * Only what cannot exist on one host is mapped, each explicitly below:
 * - container addresses (kafka:9092, registry:8080, milvus:19530, mongo:27017, minio:9000) become the
 *   local stack's (STACK from @llm-cache/testing), and the S3 credentials the stack's S3 (compose gives
 *   MinIO and LLM-Cache the same ones, which is checked);
 * - container ports become free ports: the five containers all have LLMCACHE_PORT 8080 and the four
 *   workers LLMCACHE_METRICS_PORT 9464, which would collide on one host (the healthchecks read the
 *   port from the environment, so they follow);
 * - image paths: LLMCACHE_MODEL_DIR=/models becomes the local model folder (`npm run model:fetch`)
 *   and LLMCACHE_DATA_DIR=/data a temporary folder;
 * - this run's own topic prefix (hence consumer groups), Milvus collection, MongoDB database and S3
 *   bucket, so it neither sees nor leaves other runs' data;
 * - one process per service: compose's `deploy.replicas` (two matchers) is not reproduced.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { parseEnv, promisify } from 'node:util';
import { parse } from 'yaml';
import { defaultModelDir, MODEL_NAME, modelFilesPresent } from '@llm-cache/embedding';
import { STACK } from '@llm-cache/testing';
import { postJson, REPO_ROOT } from '../helpers/cache-process.ts';
import { dropDistributedData, freshDistributedEnv, requireDistributedStack } from '../helpers/distributed-cluster.ts';

const APP_SERVICES = ['gateway', 'embedder', 'matcher', 'writer', 'evictor'] as const;
/** What the test runs: the image's ENTRYPOINT, checked against the Dockerfile below. */
const ENTRYPOINT = ['node', '--import', 'tsx', 'apps/cli/src/main.ts'];

type Environment = Record<string, string | number | boolean | null>;
interface Service {
  image?: string;
  build?: unknown;
  pull_policy?: string;
  command?: string[];
  environment?: Environment;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string | string[]; timeout?: string; disable?: boolean };
}

const read = (path: string): string => readFileSync(join(REPO_ROOT, path), 'utf8');
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const envExample = parseEnv(read('.env.example')) as Record<string, string>;

/** .env as the README has the user make it: .env.example with a generated bootstrap token. */
const dotEnv: Record<string, string> = { ...envExample, LLMCACHE_AUTH_ADMIN_TOKEN: randomBytes(32).toString('hex') };

const REFERENCE = /\$\$|\$\{([A-Za-z_]\w*)(?:(:?)([-?+])([^}]*))?\}|\$([A-Za-z_]\w*)/g;

/** Compose's interpolation of one value: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR:+other}. */
function interpolate(text: string, vars: Record<string, string>, where: string): string {
  return text.replace(REFERENCE, (match, braced?: string, colon?: string, op?: string, arg = '', bare?: string) => {
    if (match === '$$') return '$';
    const name = (braced ?? bare) as string;
    const value = vars[name];
    const set = colon ? value !== undefined && value !== '' : value !== undefined;
    if (op === '-') return set ? (value as string) : arg;
    if (op === '+') return set ? arg : '';
    if (op === '?' && !set) throw new Error(`${where}: required variable ${name} is missing a value: ${arg}`);
    return value ?? '';
  });
}

/** A service's environment as its container gets it: interpolated, pass-through keys from the env file when set there. */
function containerEnv(name: string, vars: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(services[name]?.environment ?? {})) {
    if (value === null) {
      if (vars[key] !== undefined) env[key] = vars[key];
    } else env[key] = interpolate(String(value), vars, `${name}.environment.${key}`);
  }
  return env;
}

/** The runtime stage of the Dockerfile: its ENV, WORKDIR and ENTRYPOINT. */
function imageSettings(): { env: Record<string, string>; workdir: string; entrypoint: string[] } {
  const lines = read('Dockerfile')
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim());
  const runtime = lines.slice(lines.findLastIndex((line) => /^FROM\s/i.test(line)));
  const env: Record<string, string> = {};
  for (const line of runtime.filter((l) => /^ENV\s/i.test(l)))
    for (const m of line.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1] as string] = (m[2] as string).replace(/^"|"$/g, '');
  const last = (word: string): string => runtime.findLast((l) => l.toUpperCase().startsWith(`${word} `))?.slice(word.length + 1) ?? '';
  return { env, workdir: last('WORKDIR').trim(), entrypoint: JSON.parse(last('ENTRYPOINT') || 'null') as string[] };
}

/** A healthcheck's `test` as a command line: CMD runs as is, CMD-SHELL (or a string) through sh. */
function healthCommand(check: Service['healthcheck']): string[] {
  const testSpec = check?.test ?? [];
  if (typeof testSpec === 'string') return ['sh', '-c', testSpec];
  const [kind, ...rest] = testSpec;
  return kind === 'CMD-SHELL' ? ['sh', '-c', rest.join(' ')] : rest;
}

async function freePort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return String(port);
}

// ---------------------------------------------------------------------------------------------------

test('every service of docker-compose.yml has a health check, and the LLM-Cache services wait on them', () => {
  for (const [name, service] of Object.entries(services)) {
    const check = service.healthcheck;
    assert.ok(check && !check.disable && healthCommand(check).length > 0, `${name} has no health check`);
  }
  for (const name of ['embedder', 'matcher', 'writer', 'evictor']) {
    assert.match(JSON.stringify(services[name]?.healthcheck?.test), /LLMCACHE_METRICS_PORT.*\/healthz/, `${name} checks its /healthz`);
    assert.ok(Number(containerEnv(name, dotEnv).LLMCACHE_METRICS_PORT) > 0, `${name} sets LLMCACHE_METRICS_PORT`);
  }
  for (const name of APP_SERVICES) {
    for (const [dependency, { condition }] of Object.entries(services[name]?.depends_on ?? {}))
      assert.equal(condition, 'service_healthy', `${name} waits for ${dependency} to be healthy`);
  }
});

test('the five LLM-Cache services run one image, built once from the Dockerfile', () => {
  const images = new Set(APP_SERVICES.map((name) => services[name]?.image));
  assert.equal(images.size, 1, `one image for the five: ${[...images].join(', ')}`);
  assert.ok([...images][0], 'the image is named');
  const builders = APP_SERVICES.filter((name) => services[name]?.build !== undefined);
  assert.equal(builders.length, 1, `exactly one service builds it (${builders.join(', ')})`);
  assert.ok(['.', './'].includes(String(services[builders[0] as string]?.build)), 'built from the repository root');
  for (const name of APP_SERVICES.filter((n) => !builders.includes(n)))
    assert.equal(services[name]?.pull_policy, 'never', `${name} never looks for the local image in a registry`);
  APP_SERVICES.forEach((name) => assert.deepEqual(services[name]?.command, ['service', name]));
});

test('every variable docker-compose.yml uses is in .env.example or has a default', () => {
  // Compose interpolates values (not comments): every string of the file, anchors included.
  const strings: string[] = [];
  const collect = (node: unknown): void => {
    if (typeof node === 'string') strings.push(node);
    else if (node && typeof node === 'object') Object.values(node).forEach(collect);
  };
  collect(parse(read('docker-compose.yml')));
  for (const [match, braced, , op] of strings.join('\n').matchAll(REFERENCE)) {
    if (match === '$$' || op === '-') continue;
    const name = braced ?? match.slice(1);
    assert.ok(name in envExample, `${match} is neither in .env.example nor has a default`);
  }
  // Pass-through keys (no value in compose) are documented there too, commented out while unset.
  for (const name of APP_SERVICES)
    for (const [key, value] of Object.entries(services[name]?.environment ?? {}))
      if (value === null) assert.match(read('.env.example'), new RegExp(`^#? ?${key}=`, 'm'), `${key} is not in .env.example`);
});

test('the bootstrap token has no default anywhere: compose refuses to start without one', () => {
  assert.equal(envExample.LLMCACHE_AUTH_ADMIN_TOKEN, '', '.env.example leaves the token to the user');
  const { LLMCACHE_AUTH_ADMIN_TOKEN: _token, ...withoutToken } = dotEnv;
  for (const name of APP_SERVICES) {
    assert.throws(() => containerEnv(name, withoutToken), /required variable LLMCACHE_AUTH_ADMIN_TOKEN/);
    assert.throws(() => containerEnv(name, { ...withoutToken, LLMCACHE_AUTH_ADMIN_TOKEN: '' }), /LLMCACHE_AUTH_ADMIN_TOKEN/);
    const env = containerEnv(name, dotEnv);
    assert.equal(env.LLMCACHE_AUTH_REQUIRED, 'true', `${name} requires tokens`);
    assert.equal(env.LLMCACHE_AUTH_ADMIN_TOKEN, dotEnv.LLMCACHE_AUTH_ADMIN_TOKEN);
  }
  assert.equal(containerEnv('gateway', dotEnv).LLMCACHE_HOST, '0.0.0.0');
  assert.equal(imageSettings().env.LLMCACHE_AUTH_REQUIRED, 'true', 'the image requires tokens, since it listens on 0.0.0.0');
});

test("the Dockerfile's ENTRYPOINT and WORKDIR are what this test runs", () => {
  const image = imageSettings();
  assert.deepEqual(image.entrypoint, ENTRYPOINT);
  assert.equal(image.workdir, '/app', 'the repository root is the working directory');
});

// ---------------------------------------------------------------------------------------------------

/** What stands in, on this host, for what exists only in compose's network and image (see the header). */
interface LocalStandIns {
  /** Container `host:port` -> the local stack's. */
  addresses: Record<string, string>;
  modelDir: string;
  dataDir: string;
  /** This run's topic prefix, collection, database and bucket. */
  isolation: Record<string, string>;
}

/** The environment of a service's container (image ENV, then compose's), with the stand-ins mapped in. */
async function localEnv(name: string, local: LocalStandIns): Promise<Record<string, string>> {
  const env = { ...imageSettings().env, ...containerEnv(name, dotEnv) };
  const minio = containerEnv('minio', dotEnv);
  assert.equal(env.LLMCACHE_S3_ACCESS_KEY_ID, minio.MINIO_ROOT_USER, `${name} uses MinIO's access key`);
  assert.equal(env.LLMCACHE_S3_SECRET_ACCESS_KEY, minio.MINIO_ROOT_PASSWORD, `${name} uses MinIO's secret`);
  for (const [key, value] of Object.entries(env)) {
    let mapped = value;
    for (const [container, host] of Object.entries(local.addresses))
      mapped = mapped.replace(new RegExp(`(?<=^|[/@,])${container}(?=$|[/,])`), host);
    assert.doesNotMatch(mapped, /\b(kafka|registry|milvus|mongo|minio):\d+/, `${name}: ${key}=${mapped} names a container`);
    env[key] = mapped;
  }
  assert.equal(env.LLMCACHE_KAFKA_REGISTRY_URL, STACK.registryUrl, `${name}: the registry's API path is the stack's`);
  assert.equal(env.LLMCACHE_MODEL_DIR, '/models');
  assert.equal(env.LLMCACHE_DATA_DIR, '/data');
  Object.assign(env, local.isolation, {
    LLMCACHE_S3_ACCESS_KEY_ID: STACK.s3AccessKeyId,
    LLMCACHE_S3_SECRET_ACCESS_KEY: STACK.s3SecretAccessKey,
    LLMCACHE_MODEL_DIR: local.modelDir,
    LLMCACHE_DATA_DIR: local.dataDir,
  });
  for (const key of ['LLMCACHE_PORT', 'LLMCACHE_METRICS_PORT']) if (Number(env[key]) > 0) env[key] = await freePort();
  return env;
}

interface Running {
  child: ChildProcess;
  env: Record<string, string>;
  output: string;
  exited: Promise<void>;
}
const running = new Map<string, Running>();
const cleanups: Array<() => Promise<void> | void> = [];
/** This process's environment without a single LLMCACHE_* setting. */
const cleanParent = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('LLMCACHE_')));
/** The container's `node` is this one. */
const local = (command: string): string => (command === 'node' ? process.execPath : command);

after(async () => {
  await Promise.all(
    [...running.values()].map(async ({ child, exited }) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }),
  );
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const outputs = (): string => [...running].map(([name, { output }]) => `--- ${name} ---\n${output.slice(-4000)}`).join('\n');

/** Starts a service as its container would: the image's ENTRYPOINT with compose's command, in WORKDIR. */
function startService(name: string, env: Record<string, string>): void {
  const [command, ...args] = [...imageSettings().entrypoint, ...(services[name]?.command ?? [])];
  const child = spawn(local(command as string), args, {
    cwd: REPO_ROOT,
    env: { ...cleanParent, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const entry: Running = { child, env, output: '', exited: new Promise((done) => child.once('exit', () => done())) };
  child.stdout.on('data', (chunk: Buffer) => (entry.output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (entry.output += chunk.toString()));
  running.set(name, entry);
}

/** Runs the service's compose healthcheck, in its environment, every second until it passes. */
async function waitHealthy(name: string, withinMs = 180_000): Promise<void> {
  const check = services[name]?.healthcheck;
  const [command, ...args] = healthCommand(check);
  const timeout = Number(/^(\d+)s$/.exec(check?.timeout ?? '')?.[1] ?? 30) * 1000;
  const entry = running.get(name) as Running;
  const deadline = Date.now() + withinMs;
  for (;;) {
    const options = { cwd: REPO_ROOT, env: { ...cleanParent, ...entry.env }, timeout };
    if (
      await promisify(execFile)(local(command as string), args, options).then(
        () => true,
        () => false,
      )
    )
      return;
    if (entry.child.exitCode !== null) throw new Error(`${name} exited with ${entry.child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`${name} did not become healthy within ${withinMs / 1000} s`);
    await new Promise((done) => setTimeout(done, 1000));
  }
}

/** Brings the services up in compose's order (each once the services it depends on are healthy); returns the failures. */
async function bringUp(envs: Map<string, Record<string, string>>): Promise<string[]> {
  const healthy = new Map<string, Promise<void>>();
  const up = (name: string): Promise<void> => {
    let ready = healthy.get(name);
    if (!ready) {
      const dependencies = Object.keys(services[name]?.depends_on ?? {}).filter((d) => envs.has(d));
      ready = Promise.all(dependencies.map(up)).then(async () => {
        startService(name, envs.get(name) as Record<string, string>);
        await waitHealthy(name);
      });
      healthy.set(name, ready);
    }
    return ready;
  };
  const results = await Promise.allSettled([...envs.keys()].map(up));
  return results.flatMap((result) => (result.status === 'rejected' ? [String(result.reason)] : []));
}

test('the compose services, started with compose’s settings on the local stack, become healthy and serve with the token from .env', async () => {
  await requireDistributedStack();
  const modelDir = dirname(defaultModelDir(process.env));
  assert.ok(modelFilesPresent(join(modelDir, MODEL_NAME)), `no model in ${modelDir}: run npm run model:fetch`);
  const dataDir = mkdtempSync(join(tmpdir(), 'llm-cache-compose-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const fresh = freshDistributedEnv();
  const isolation = Object.fromEntries(
    ['LLMCACHE_KAFKA_TOPIC_PREFIX', 'LLMCACHE_MILVUS_COLLECTION', 'LLMCACHE_MONGO_DATABASE', 'LLMCACHE_S3_BUCKET'].map((key) => [
      key,
      fresh[key] as string,
    ]),
  );
  cleanups.push(() => dropDistributedData(isolation));
  const hostPort = (url: string): string => new URL(url.includes('://') ? url : `tcp://${url}`).host;
  const addresses = {
    'kafka:9092': STACK.kafkaBrokers.split(',')[0] as string,
    'registry:8080': hostPort(STACK.registryUrl),
    'milvus:19530': STACK.milvusAddress,
    'mongo:27017': hostPort(STACK.mongoUrl),
    'minio:9000': hostPort(STACK.s3Endpoint),
  };
  const envs = new Map<string, Record<string, string>>();
  for (const name of APP_SERVICES) envs.set(name, await localEnv(name, { addresses, modelDir, dataDir, isolation }));

  assert.deepEqual(await bringUp(envs), [], outputs());
  assert.equal([...running.keys()].at(-1), 'gateway', 'the gateway starts after the services it waits for');

  const url = `http://127.0.0.1:${envs.get('gateway')?.LLMCACHE_PORT}`;
  const bearer = { authorization: `Bearer ${dotEnv.LLMCACHE_AUTH_ADMIN_TOKEN}` };
  const topic = `the ${randomBytes(4).toString('hex')} river delta`;
  const entry = { prompt: `Tell me about ${topic}`, response: `All about ${topic}.` };
  const stored = await postJson(`${url}/v1/cache/entries?wait=true`, entry, bearer);
  assert.equal(stored.status, 201, `${JSON.stringify(stored.body)}\n${outputs()}`);
  const hit = await postJson(`${url}/v1/cache/lookup`, { prompt: `Please tell me about ${topic}` }, bearer);
  assert.equal(hit.body.hit, true, `${JSON.stringify(hit.body)}\n${outputs()}`);
  assert.equal(hit.body.response, entry.response);
  assert.equal(hit.body.tier, 'semantic', 'answered by the matcher through Kafka and Milvus');

  const anonymous = await postJson(`${url}/v1/cache/lookup`, { prompt: `Please tell me about ${topic}` });
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.body.error.code, 'LLMCACHE_UNAUTHORIZED');
  const wrong = await postJson(`${url}/v1/cache/lookup`, { prompt: 'x' }, { authorization: `Bearer ${randomBytes(32).toString('hex')}` });
  assert.equal(wrong.status, 401);
  // A worker's /metrics (every tenant's figures) takes the same bootstrap token; its /healthz needs none.
  const writerMetrics = `http://127.0.0.1:${envs.get('writer')?.LLMCACHE_METRICS_PORT}/metrics`;
  assert.equal((await fetch(writerMetrics)).status, 401);
  assert.equal((await fetch(writerMetrics, { headers: bearer })).status, 200);
});
