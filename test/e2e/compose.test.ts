/**
 * Static checks of the container deployment: Dockerfile, docker-compose.yml, the Prometheus and Grafana
 * provisioning under infra/compose and the dashboard infra/grafana/llm-cache.json. Nothing is built or
 * started (no Docker engine needed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { configLeaves, loadConfig } from '@llm-cache/config';
import { defaultModelDir } from '@llm-cache/embedding';
import { Metrics } from '@llm-cache/telemetry';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

/** The LLM-Cache services, each run as `service <name>`. */
const APP_SERVICES = ['gateway', 'embedder', 'matcher', 'writer', 'evictor'] as const;
/** Infrastructure services and the image (repository) each must use. */
const INFRA_IMAGES: Record<string, RegExp> = {
  kafka: /^apache\/kafka:/,
  registry: /^apicurio\/apicurio-registry:3\./,
  milvus: /^milvusdb\/milvus:/,
  'milvus-etcd': /^quay\.io\/coreos\/etcd:/,
  'milvus-minio': /^minio\/minio:/,
  mongo: /^mongo:7(\.|$)/,
  minio: /^minio\/minio:/,
  prometheus: /^prom\/prometheus:/,
  grafana: /^grafana\/grafana:/,
};
const NON_CONFIG_ENV = new Set(['LLMCACHE_CONFIG', 'LLMCACHE_MODEL_DIR']);

type Mount = string | { type?: string; source?: string; target?: string };
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  environment?: Record<string, unknown> | string[];
  volumes?: Mount[];
  ports?: Array<string | { host_ip?: string; published?: string | number; target?: number }>;
  depends_on?: string[] | Record<string, { condition?: string }>;
  deploy?: { replicas?: number };
  healthcheck?: { test?: string | string[]; disable?: boolean };
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as Compose;
const services = compose.services;

/** A service's environment as a map; `KEY` without a value (pass-through from the shell) maps to null. */
function envOf(service: Service): Record<string, string | null> {
  const env: Record<string, string | null> = {};
  const raw = service.environment ?? {};
  if (Array.isArray(raw)) {
    for (const entry of raw) {
      const eq = entry.indexOf('=');
      if (eq === -1) env[entry] = null;
      else env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
  } else {
    for (const [key, value] of Object.entries(raw)) env[key] = value === null || value === undefined ? null : String(value);
  }
  return env;
}

/**
 * The value a container gets when the shell sets none of the referenced variables: `${VAR:-default}` and
 * `${VAR-default}` give the default, `${VAR}` / `$VAR` nothing, `$$` a dollar sign. undefined = unset.
 */
function interpolate(value: string | null): string | undefined {
  if (value === null) return undefined;
  let unset = false;
  const out = value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, _braced, fallback) => {
      if (match === '$$') return '$';
      if (typeof fallback === 'string') return fallback;
      unset = true;
      return '';
    },
  );
  return unset && out === '' ? undefined : out;
}

const commandOf = (service: Service): string[] =>
  typeof service.command === 'string' ? service.command.trim().split(/\s+/) : (service.command ?? []).map(String);

const dependsOn = (service: Service): string[] =>
  Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {});

// ---------------------------------------------------------------------------------------------------
// PromQL: every metric an expression names must be an llmcache_ metric.

const PROMQL_FUNCTIONS = new Set(
  (
    'abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes clamp clamp_max clamp_min ' +
    'cos cosh count_over_time day_of_month day_of_week day_of_year days_in_month deg delta deriv exp floor ' +
    'histogram_avg histogram_count histogram_fraction histogram_quantile histogram_stddev histogram_stdvar histogram_sum ' +
    'holt_winters double_exponential_smoothing hour idelta increase irate label_join label_replace last_over_time ln log10 log2 ' +
    'mad_over_time max_over_time min_over_time minute month pi predict_linear present_over_time quantile_over_time rad rate ' +
    'resets round scalar sgn sin sinh sort sort_desc sort_by_label sort_by_label_desc sqrt stddev_over_time stdvar_over_time ' +
    'sum_over_time tan tanh time timestamp vector year ' +
    // aggregation operators
    'sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio'
  ).split(' '),
);
const PROMQL_KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'atan2',
  'inf',
  'nan',
]);

/** Names in a PromQL expression that are neither llmcache_ metrics nor functions/keywords (empty when fine). */
function foreignNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // string literals
    .replace(/\{[^{}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '$1') // label lists
    .replace(/\$\{[^}]*\}|\$[A-Za-z_]\w*/g, '1') // Grafana variables
    .replace(/\b\d+(\.\d+)?(e[+-]?\d+)?\b/gi, '1'); // numbers
  const foreign: string[] = [];
  for (const match of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const name = match[0];
    // A call, or an aggregation whose `by (...)` / `without (...)` clause comes first: `sum by (le) (...)`.
    const isCall = /^\s*(?:(?:by|without)\b\s*)?\(/.test(stripped.slice((match.index ?? 0) + name.length));
    if (PROMQL_KEYWORDS.has(name) || (isCall ? PROMQL_FUNCTIONS.has(name) : name.startsWith('llmcache_'))) continue;
    foreign.push(name);
  }
  return foreign;
}

/** llmcache_ metric names an expression refers to. */
const metricsIn = (expr: string): string[] =>
  [...expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').matchAll(/\bllmcache_[A-Za-z0-9_:]*/g)].map((m) => m[0]);

interface Panel {
  id?: number;
  type: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: Array<{ expr?: string; datasource?: { uid?: string } }>;
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating?: { list: Array<{ name: string; type: string; query?: string | { query?: string }; datasource?: { uid?: string } }> };
}

// ---------------------------------------------------------------------------------------------------

test('docker-compose.yml defines the production topology with pinned official images', () => {
  for (const name of [...APP_SERVICES, ...Object.keys(INFRA_IMAGES)]) assert.ok(services[name], `service ${name} is missing`);
  for (const [name, image] of Object.entries(INFRA_IMAGES)) {
    const ref = services[name]?.image ?? '';
    assert.match(ref, image, `${name} runs ${ref}`);
    const tag = ref.slice(ref.lastIndexOf(':') + 1);
    assert.ok(ref.includes(':') && tag !== 'latest' && !tag.includes('/'), `${name}: pin a tag (${ref})`);
  }
  assert.equal(envOf(services.milvus as Service).ETCD_ENDPOINTS?.split(':')[0], 'milvus-etcd');
  assert.equal(envOf(services.milvus as Service).MINIO_ADDRESS?.split(':')[0], 'milvus-minio');
  assert.match(envOf(services.kafka as Service).KAFKA_PROCESS_ROLES ?? '', /broker/);
  assert.match(envOf(services.kafka as Service).KAFKA_PROCESS_ROLES ?? '', /controller/);
  assert.equal(envOf(services.kafka as Service).KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR, '1');
});

test('every LLMCACHE_ variable in the compose file is a configuration key, and the values load', () => {
  const known = new Set(configLeaves().map((leaf) => leaf.env));
  for (const [name, service] of Object.entries(services)) {
    for (const [key, value] of Object.entries(envOf(service))) {
      if (!key.startsWith('LLMCACHE_')) continue;
      assert.ok(known.has(key) || NON_CONFIG_ENV.has(key), `${name}: ${key} is not a configuration key`);
      // `${VAR:-}` would hand the container an empty string, which fails validation (URLs, numbers).
      assert.notEqual(interpolate(value), '', `${name}: ${key} would be set to an empty string; leave the value out to pass it through`);
    }
  }
  for (const name of APP_SERVICES) {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(envOf(services[name] as Service))) {
      const resolved = interpolate(value);
      if (key.startsWith('LLMCACHE_') && resolved !== undefined) env[key] = resolved;
    }
    const config = loadConfig({ env });
    assert.equal(config.mode, 'distributed', name);
    assert.equal(config.kafka.brokers.split(',')[0]?.split(':')[0], 'kafka', name);
    assert.equal(new URL(config.kafka.registryUrl).hostname, 'registry', name);
    assert.match(config.kafka.registryUrl, /\/apis\/ccompat\/v7$/, name);
    assert.equal(config.milvus.address.split(':')[0], 'milvus', name);
    assert.equal(new URL(config.mongo.url).hostname, 'mongo', name);
    assert.equal(new URL(config.s3.endpoint ?? 'http://missing').hostname, 'minio', name);
    for (const key of ['LLMCACHE_MONGO_DATABASE', 'LLMCACHE_S3_BUCKET', 'LLMCACHE_S3_ACCESS_KEY_ID', 'LLMCACHE_S3_SECRET_ACCESS_KEY']) {
      assert.ok(env[key], `${name}: ${key} is not set`);
    }
  }
  const gateway = envOf(services.gateway as Service);
  assert.equal(gateway.LLMCACHE_HOST, '0.0.0.0');
  for (const key of ['LLMCACHE_UPSTREAM_BASE_URL', 'LLMCACHE_UPSTREAM_API_KEY'])
    assert.ok(key in gateway, `gateway: ${key} is not passed through`);
});

test('the five LLM-Cache services run one image, built once from the Dockerfile, each its own service', () => {
  const builders = APP_SERVICES.filter((name) => (services[name] as Service).build !== undefined);
  assert.equal(builders.length, 1, `one service builds the shared image, not ${builders.join(', ') || 'none'}`);
  const builder = services[builders[0] as string] as Service;
  const build = typeof builder.build === 'string' ? { context: builder.build } : builder.build;
  assert.equal(posix.normalize(build?.context ?? '.'), '.', 'the image builds from the repository root');
  assert.equal(build?.dockerfile ?? 'Dockerfile', 'Dockerfile');
  const images = new Set(APP_SERVICES.map((name) => (services[name] as Service).image));
  assert.equal(images.size, 1, `one image for all five: ${[...images].join(', ')}`);
  assert.ok([...images][0], 'the shared image is named');
  for (const name of APP_SERVICES) {
    const service = services[name] as Service;
    assert.deepEqual(commandOf(service), ['service', name], `${name} runs \`service ${name}\``);
    for (const dependency of ['kafka', 'registry', 'milvus', 'mongo', 'minio']) {
      assert.ok(dependsOn(service).includes(dependency), `${name} does not wait for ${dependency}`);
    }
    if (name !== 'gateway') {
      assert.equal(service.ports, undefined, `${name} publishes no port`);
      assert.notEqual(service.healthcheck?.disable, true, `${name}: its /healthz is checked`);
      assert.match(JSON.stringify(service.healthcheck?.test ?? ''), /\/healthz/, `${name} checks /healthz`);
    }
  }
  assert.ok((services.matcher?.deploy?.replicas ?? 1) >= 2, 'matcher runs several replicas');
  const gateway = services.gateway as Service;
  assert.ok(gateway.ports?.length, 'the gateway publishes its port');
  for (const port of gateway.ports ?? []) {
    const hostIp = typeof port === 'string' ? port.split(':')[0] : port.host_ip;
    assert.equal(hostIp, '127.0.0.1', `gateway port ${JSON.stringify(port)} is published on localhost only`);
  }
  assert.match(JSON.stringify(gateway.healthcheck?.test ?? ''), /\/healthz/);
  // Infrastructure stays on the compose network; only the gateway and the monitoring UIs are published.
  for (const [name, service] of Object.entries(services)) {
    for (const port of service.ports ?? []) {
      const hostIp = typeof port === 'string' ? port.split(':')[0] : port.host_ip;
      assert.equal(hostIp, '127.0.0.1', `${name} publishes ${JSON.stringify(port)} beyond localhost`);
    }
  }
  // Every dependency is a service of this file, and health conditions only name services with a check.
  for (const [name, service] of Object.entries(services)) {
    for (const dependency of dependsOn(service)) assert.ok(services[dependency], `${name} depends on unknown ${dependency}`);
    if (Array.isArray(service.depends_on)) continue;
    for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
      if (condition !== 'service_healthy') continue;
      const check = services[dependency]?.healthcheck;
      assert.ok(
        check && !check.disable && (check.test || dependency === 'gateway'),
        `${name} waits for ${dependency} to be healthy, which has no check`,
      );
    }
  }
});

test('every file the compose file mounts or builds from exists', () => {
  const declared = new Set(Object.keys(compose.volumes ?? {}));
  for (const [name, service] of Object.entries(services)) {
    for (const mount of service.volumes ?? []) {
      let source: string;
      let bind: boolean;
      if (typeof mount === 'string') {
        source = mount.split(':')[0] ?? '';
        bind = source.startsWith('.') || source.startsWith('/') || source.startsWith('~');
      } else {
        source = mount.source ?? '';
        bind = mount.type === 'bind';
      }
      if (bind) {
        assert.ok(!source.startsWith('~'), `${name}: ${source} depends on the user's home`);
        const path = isAbsolute(source) ? source : join(ROOT, source);
        assert.ok(existsSync(path), `${name} mounts ${source}, which does not exist`);
      } else if (source) {
        assert.ok(declared.has(source), `${name} uses volume ${source}, not declared under volumes:`);
      }
    }
    if (service.build) {
      const build = typeof service.build === 'string' ? { context: service.build } : service.build;
      assert.ok(existsSync(join(ROOT, build.context ?? '.', build.dockerfile ?? 'Dockerfile')), `${name}: no Dockerfile`);
    }
  }
  // .dockerignore keeps the host's node_modules out, or `COPY . .` would replace the image's.
  assert.match(read('.dockerignore'), /^\*\*\/node_modules$/m);
});

test('Prometheus scrapes the gateway and Grafana is provisioned with the dashboard', () => {
  const prometheus = parse(read('infra/compose/prometheus.yml')) as {
    scrape_configs: Array<{
      job_name: string;
      metrics_path?: string;
      static_configs?: Array<{ targets: string[] }>;
      dns_sd_configs?: Array<{ names: string[]; port?: number }>;
      authorization?: { credentials_file?: string };
    }>;
  };
  // The services require tokens on /metrics too: each LLM-Cache job reads the token from a secret
  // that compose mounts into Prometheus, taken from the bootstrap token of .env.
  const promService = services.prometheus as Service & { secrets?: Array<string | { source: string; target?: string }> };
  const mounted = new Map(
    (promService.secrets ?? []).map((secret) =>
      typeof secret === 'string' ? [`/run/secrets/${secret}`, secret] : [`/run/secrets/${secret.target ?? secret.source}`, secret.source],
    ),
  );
  const declared = (compose as { secrets?: Record<string, { environment?: string }> }).secrets ?? {};
  for (const job of prometheus.scrape_configs.filter((j) => j.job_name.startsWith('llm-cache-'))) {
    const file = job.authorization?.credentials_file ?? '';
    const source = mounted.get(file);
    assert.ok(source, `${job.job_name} reads its token from ${file || 'nowhere'}, which compose does not mount`);
    assert.equal(declared[source]?.environment, 'LLMCACHE_AUTH_ADMIN_TOKEN', `${job.job_name}: the secret holds the admin token`);
  }
  const targets = prometheus.scrape_configs.flatMap((job) => [
    ...(job.static_configs ?? []).flatMap((c) => c.targets),
    ...(job.dns_sd_configs ?? []).flatMap((c) => c.names.map((n) => `${n}:${c.port ?? ''}`)),
  ]);
  const gatewayPort = envOf(services.gateway as Service).LLMCACHE_PORT ?? '8080';
  assert.ok(targets.includes(`gateway:${gatewayPort}`), `no scrape target gateway:${gatewayPort} in ${targets.join(', ')}`);

  const grafana = services.grafana as Service;
  const mountTarget = (file: string): string | undefined => {
    for (const mount of grafana.volumes ?? []) {
      const [source, target] = typeof mount === 'string' ? mount.split(':') : [mount.source, mount.target];
      if (source && posix.normalize(source) === posix.normalize(file)) return target;
    }
    return undefined;
  };
  const datasourceFile = 'infra/compose/grafana/datasource.yml';
  const providerFile = 'infra/compose/grafana/dashboards.yml';
  assert.match(mountTarget(`./${datasourceFile}`) ?? '', /^\/etc\/grafana\/provisioning\/datasources\//);
  assert.match(mountTarget(`./${providerFile}`) ?? '', /^\/etc\/grafana\/provisioning\/dashboards\//);
  const dashboardTarget = mountTarget('./infra/grafana/llm-cache.json');
  assert.ok(dashboardTarget, 'the dashboard is not mounted into Grafana');

  const datasources = (parse(read(datasourceFile)) as { datasources: Array<{ uid: string; type: string; url: string }> }).datasources;
  const prom = datasources.find((d) => d.type === 'prometheus');
  assert.ok(prom, 'no Prometheus datasource');
  assert.equal(new URL(prom.url).hostname, 'prometheus');
  const providers = (parse(read(providerFile)) as { providers: Array<{ type: string; options: { path: string } }> }).providers;
  assert.ok(
    providers.some((p) => p.type === 'file' && posix.dirname(dashboardTarget) === posix.normalize(p.options.path)),
    `no dashboard provider reads ${posix.dirname(dashboardTarget)}`,
  );

  const dashboard = JSON.parse(read('infra/grafana/llm-cache.json')) as Dashboard;
  const uids = new Set<string>();
  const collect = (panels: Panel[]): void => {
    for (const panel of panels) {
      if (panel.datasource?.uid) uids.add(panel.datasource.uid);
      for (const t of panel.targets ?? []) if (t.datasource?.uid) uids.add(t.datasource.uid);
      collect(panel.panels ?? []);
    }
  };
  collect(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) if (v.datasource?.uid) uids.add(v.datasource.uid);
  assert.deepEqual([...uids], [prom.uid], 'the dashboard uses the provisioned datasource uid');
});

test('environment lists and maps are read alike, and interpolation gives what the container sees', () => {
  const asList = envOf({ environment: ['LLMCACHE_MODE=distributed', 'LLMCACHE_UPSTREAM_API_KEY', 'LLMCACHE_S3_BUCKET=a=b'] });
  const asMap = envOf({ environment: { LLMCACHE_MODE: 'distributed', LLMCACHE_UPSTREAM_API_KEY: null, LLMCACHE_S3_BUCKET: 'a=b' } });
  assert.deepEqual(asList, { LLMCACHE_MODE: 'distributed', LLMCACHE_UPSTREAM_API_KEY: null, LLMCACHE_S3_BUCKET: 'a=b' });
  assert.deepEqual(asMap, asList);
  assert.deepEqual(envOf({ environment: { LLMCACHE_PORT: 8080, LLMCACHE_EXACT_TIER_ENABLED: false } }), {
    LLMCACHE_PORT: '8080',
    LLMCACHE_EXACT_TIER_ENABLED: 'false',
  });
  assert.equal(interpolate('${X:-}'), '');
  assert.equal(interpolate('${X:-info}'), 'info');
  assert.equal(interpolate('${X-info}'), 'info');
  assert.equal(interpolate('${X}'), undefined);
  assert.equal(interpolate('$X'), undefined);
  assert.equal(interpolate(null), undefined);
  assert.equal(interpolate('a$$b'), 'a$b');
  assert.equal(interpolate('http://minio:9000'), 'http://minio:9000');
});

test('the PromQL check tells llmcache_ metrics from others', () => {
  assert.deepEqual(foreignNames('sum(rate(llmcache_lookups_total{outcome="hit"}[5m])) / sum(rate(llmcache_lookups_total[5m]))'), []);
  assert.deepEqual(
    foreignNames(
      'histogram_quantile(0.95, sum by (le, stage) (rate(llmcache_stage_duration_seconds_bucket{stage=~"$stage"}[$__rate_interval])))',
    ),
    [],
  );
  assert.deepEqual(foreignNames('sum by (status) (rate(http_requests_total{job="x"}[5m]))'), ['http_requests_total']);
  assert.deepEqual(foreignNames('up == 0'), ['up']);
  assert.deepEqual(foreignNames('llmcache_entries * on (namespace) group_left kube_info'), ['kube_info']);
  assert.deepEqual(foreignNames('bogus_fn(llmcache_entries)'), ['bogus_fn']);
});

test('the Grafana dashboard parses and queries only llmcache_ metrics', async () => {
  const dashboard = JSON.parse(read('infra/grafana/llm-cache.json')) as Dashboard;
  assert.ok(dashboard.uid && dashboard.title, 'uid and title');
  assert.ok(dashboard.schemaVersion >= 36, `schemaVersion ${dashboard.schemaVersion}`);
  const panels: Panel[] = [];
  const walk = (list: Panel[]): void => {
    for (const panel of list) {
      panels.push(panel);
      walk(panel.panels ?? []);
    }
  };
  walk(dashboard.panels);
  const ids = panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');

  const exprs: string[] = [];
  for (const panel of panels) {
    if (panel.gridPos) assert.ok(panel.gridPos.x + panel.gridPos.w <= 24, `panel "${panel.title}" is wider than the grid`);
    if (panel.type === 'row') continue;
    const own = (panel.targets ?? []).map((t) => t.expr ?? '').filter((e) => e.trim() !== '');
    assert.ok(own.length > 0, `panel "${panel.title}" has no query`);
    exprs.push(...own);
  }
  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.type !== 'query') continue;
    const query = typeof variable.query === 'string' ? variable.query : (variable.query?.query ?? '');
    const labelValues = /^\s*label_values\(\s*(?:(.*),)?\s*[A-Za-z_]\w*\s*\)\s*$/.exec(query);
    exprs.push(labelValues ? (labelValues[1] ?? '') : query);
  }
  for (const expr of exprs) assert.deepEqual(foreignNames(expr), [], `non-llmcache metric or unknown function in: ${expr}`);

  const used = new Set(exprs.flatMap(metricsIn));
  for (const metric of [
    'llmcache_lookups_total',
    'llmcache_cost_saved_total',
    'llmcache_tokens_saved_total',
    'llmcache_stage_duration_seconds_bucket',
    'llmcache_similarity_score_bucket',
    'llmcache_consumer_lag',
    'llmcache_entries',
    'llmcache_entry_bytes',
    'llmcache_evictions_total',
    'llmcache_http_requests_total',
  ]) {
    assert.ok(used.has(metric), `the dashboard does not show ${metric}`);
  }
  // Every metric the dashboard queries is one the processes export.
  const exported = new Set((await new Metrics().registry.getMetricsAsJSON()).map((metric) => metric.name));
  for (const metric of used) {
    assert.ok(exported.has(metric.replace(/_(bucket|sum|count)$/, '')), `the dashboard queries ${metric}, which no process exports`);
  }
  assert.ok(
    exprs.some((e) => /llmcache_lookups_total\{[^}]*outcome="hit"/.test(e) && e.includes('/')),
    'a hit-rate panel (hits / lookups)',
  );
  for (const quantile of ['0.5', '0.95', '0.99']) {
    assert.ok(
      exprs.some((e) => e.includes(`histogram_quantile(${quantile},`) && e.includes('llmcache_stage_duration_seconds_bucket')),
      `stage latency p${Number(quantile) * 100}`,
    );
  }
});

test('the Dockerfile runs the CLI as a non-root user with the model where LLMCACHE_MODEL_DIR says', () => {
  // Logical lines (continuations joined), comments dropped.
  const lines = read('Dockerfile')
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const args = new Map<string, string>();
  for (const line of lines) {
    const m = /^ARG\s+(\w+)=(\S+)/i.exec(line);
    if (m) args.set(m[1] as string, m[2] as string);
  }
  const stages = lines.reduce<string[][]>((acc, line) => {
    if (/^FROM\s/i.test(line)) acc.push([]);
    acc.at(-1)?.push(line);
    return acc;
  }, []);
  assert.ok(stages.length >= 2, 'multi-stage build');
  const baseOf = (stage: string[]): string =>
    (stage[0] ?? '').split(/\s+/)[1]?.replace(/\$\{?(\w+)\}?/g, (_, name: string) => args.get(name) ?? '') ?? '';
  const stageNames = new Set(stages.map((s) => /\sAS\s+(\S+)/i.exec(s[0] ?? '')?.[1]?.toLowerCase()));
  for (const stage of stages) {
    const base = baseOf(stage);
    assert.ok(base === 'node:20-bookworm-slim' || stageNames.has(base.toLowerCase()), `stage base ${base}`);
  }
  const final = stages.at(-1) as string[];
  assert.equal(baseOf(final), 'node:20-bookworm-slim', 'the final image is node:20-bookworm-slim');
  const instruction = (name: string): string[] =>
    final.filter((l) => l.toUpperCase().startsWith(`${name} `)).map((l) => l.slice(name.length).trim());

  const entrypoint = JSON.parse(instruction('ENTRYPOINT').at(-1) ?? 'null') as string[];
  assert.deepEqual(entrypoint, ['node', '--import', 'tsx', 'apps/cli/src/main.ts']);
  assert.ok(existsSync(join(ROOT, 'apps/cli/src/main.ts')));
  assert.deepEqual(JSON.parse(instruction('CMD').at(-1) ?? 'null'), ['start']);
  const user = instruction('USER').at(-1) ?? 'root';
  assert.ok(!['root', '0', '0:0'].includes(user), `runs as ${user}`);
  assert.ok(
    instruction('EXPOSE').some((p) => p.split(/\s+/).includes('8080')),
    'EXPOSE 8080',
  );
  assert.match(instruction('HEALTHCHECK').join(' '), /\/healthz/);

  // ENV in the final stage: LLMCACHE_ keys must be known, and the model must sit where the code looks.
  const env = new Map<string, string>();
  for (const line of instruction('ENV'))
    for (const m of line.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env.set(m[1] as string, (m[2] as string).replace(/^"|"$/g, ''));
  const known = new Set(configLeaves().map((leaf) => leaf.env));
  for (const key of env.keys())
    if (key.startsWith('LLMCACHE_')) assert.ok(known.has(key) || NON_CONFIG_ENV.has(key), `Dockerfile ENV ${key}`);
  const modelBase = env.get('LLMCACHE_MODEL_DIR');
  assert.ok(modelBase, 'LLMCACHE_MODEL_DIR is set');
  const modelDir = defaultModelDir({ LLMCACHE_MODEL_DIR: modelBase });
  const fetchLine = lines.find((l) => /apps\/cli\/src\/main\.ts model fetch/.test(l)) ?? '';
  assert.match(fetchLine, /--dir\s+(\S+)/, 'the model is fetched with --dir');
  assert.equal(/--dir\s+(\S+)/.exec(fetchLine)?.[1], modelDir, 'the fetched model folder is the one the runtime reads');
  assert.ok(
    instruction('COPY').some((c) => /--from=\S+/.test(c) && c.split(/\s+/).includes(modelBase)),
    `the final stage copies ${modelBase} from the model stage`,
  );
  assert.ok(/\bmaven\b/.test(lines.join('\n')), 'the model is fetched with Maven');
  assert.ok(/ONNXRUNTIME_NODE_INSTALL=skip/.test(lines.join('\n')));
  assert.ok(
    lines.some((l) => /^RUN\b.*\bnpm ci\b/.test(l)),
    'dependencies come from npm ci',
  );
});
