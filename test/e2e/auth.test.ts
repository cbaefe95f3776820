import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { startUpstreamStandIn, type UpstreamStandIn } from '../helpers/upstream-stand-in.ts';
import { postJson, REPO_ROOT, startCacheProcess, tempDir, type CacheProcess } from '../helpers/cache-process.ts';
import { freshDistributedEnv, startDistributedCluster } from '../helpers/distributed-cluster.ts';

interface AuthTarget {
  /** Every gateway; requests go to them in turn, so a token made at one must work at the others. */
  urls: string[];
  /** Stops every process and starts them again on the same data. */
  restart(): Promise<void>;
  stop(): Promise<unknown>;
}

function defineAuthScenarios(mode: string, start: (env: Record<string, string>) => Promise<AuthTarget>): void {
  describe(`API tokens, roles and tenants (${mode})`, () => {
    const adminToken = `bootstrap-${randomBytes(16).toString('hex')}`;
    let target: AuthTarget;
    let turn = 0;
    const cache = {
      get url(): string {
        return target.urls[turn++ % target.urls.length] as string;
      },
    };
    const tokens: Record<string, string> = {};
    const call = (method: string, path: string, token: string | undefined, body?: unknown, headers: Record<string, string> = {}) =>
      fetch(`${cache.url}${path}`, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });

    const cleanups: Array<() => Promise<void>> = [];
    let upstream: UpstreamStandIn;

    before(async () => {
      upstream = await startUpstreamStandIn({ after: (fn: () => Promise<void>) => void cleanups.push(fn) });
      target = await start({
        LLMCACHE_AUTH_REQUIRED: 'true',
        LLMCACHE_AUTH_ADMIN_TOKEN: adminToken,
        LLMCACHE_UPSTREAM_BASE_URL: upstream.url,
        LLMCACHE_UPSTREAM_API_KEY: 'sk-upstream-test-key',
      });
      for (const [name, role, tenant] of [
        ['a-reader', 'reader', 'tenant-a'],
        ['a-writer', 'writer', 'tenant-a'],
        ['a-admin', 'admin', 'tenant-a'],
        ['b-writer', 'writer', 'tenant-b'],
        ['b-admin', 'admin', 'tenant-b'],
      ] as const) {
        const created = await call('POST', '/v1/admin/tokens', adminToken, { name, role, tenant });
        assert.equal(created.status, 201);
        const body = (await created.json()) as { token: string; tenant: string; role: string };
        assert.equal(body.tenant, tenant);
        assert.match(body.token, /^llmc_/);
        tokens[name] = body.token;
      }
    });
    after(async () => {
      await target?.stop();
      for (const cleanup of cleanups) await cleanup();
    });

    it('refuses requests without a token (401) and with too small a role (403)', async () => {
      assert.equal((await call('POST', '/v1/cache/lookup', undefined, { prompt: 'x' })).status, 401);
      assert.equal((await call('POST', '/v1/cache/lookup', 'llmc_not-a-real-token', { prompt: 'x' })).status, 401);
      assert.equal((await call('GET', '/healthz', undefined)).status, 200, 'health stays public');
      assert.equal((await call('POST', '/v1/cache/lookup', tokens['a-reader'], { prompt: 'x' })).status, 200);
      const denied = await call('POST', '/v1/cache/entries', tokens['a-reader'], { prompt: 'x', response: 'y' });
      assert.equal(denied.status, 403);
      assert.equal(((await denied.json()) as { error: { code: string } }).error.code, 'LLMCACHE_FORBIDDEN');
      assert.equal((await call('PUT', '/v1/admin/threshold', tokens['a-writer'], { threshold: 0.5 })).status, 403);
      assert.equal((await call('GET', '/v1/admin/export', tokens['a-writer'])).status, 403);
      assert.equal((await call('POST', '/v1/admin/tokens', tokens['a-writer'], { name: 'x', role: 'admin' })).status, 403);
      assert.equal(
        (await call('POST', '/v1/admin/tokens', tokens['a-admin'], { name: 'x', role: 'reader', tenant: 'tenant-b' })).status,
        403,
        'an admin stays in its tenant',
      );
    });

    it('keeps tenants apart through lookup, delete, purge, stats and export', async () => {
      const secret = 'What is the launch date of project Zephyr?';
      const stored = await call('POST', '/v1/cache/entries?wait=true', tokens['a-writer'], {
        prompt: secret,
        response: 'March 3rd',
        tags: ['zephyr'],
      });
      assert.equal(stored.status, 201);
      const { id } = (await stored.json()) as { id: string };
      const lookupAs = async (token: string | undefined) =>
        ((await (await call('POST', '/v1/cache/lookup', token, { prompt: secret })).json()) as { hit: boolean }).hit;
      assert.equal(await lookupAs(tokens['a-reader']), true);
      assert.equal(await lookupAs(tokens['b-writer']), false, 'tenant B cannot read tenant A');
      const chat = await postJson(
        `${cache.url}/v1/chat/completions`,
        { model: 'default', messages: [{ role: 'user', content: secret }] },
        // no-store: B's own answer from the upstream is not kept, so B's stats below stay empty.
        { authorization: `Bearer ${tokens['b-writer']}`, 'cache-control': 'no-store' },
      );
      assert.equal(chat.status, 200);
      assert.notEqual(chat.headers.get('x-llmcache'), 'hit', 'not through the OpenAI route either');
      assert.equal((await call('DELETE', `/v1/cache/entries/${id}`, tokens['b-writer'])).status, 404, "tenant B cannot delete A's entry");
      const purged = await call('POST', '/v1/cache/purge', tokens['b-writer'], { tags: ['zephyr'] });
      assert.deepEqual(await purged.json(), { purged: 0 });
      const bStats = (await (await call('GET', '/v1/admin/stats', tokens['b-admin'])).json()) as { namespaces: unknown[] };
      assert.deepEqual(bStats.namespaces, []);
      const bExport = await (await call('GET', '/v1/admin/export', tokens['b-admin'])).text();
      assert.equal(bExport.trim().split('\n').length, 1, 'tenant B exports only a header');
      assert.doesNotMatch(bExport, /Zephyr/);
      const aExport = await (await call('GET', '/v1/admin/export', tokens['a-admin'])).text();
      assert.match(aExport, /Zephyr/);
      assert.equal(await lookupAs(tokens['a-reader']), true, "A's entry survived B's attempts");
      const bTokens = (await (await call('GET', '/v1/admin/tokens', tokens['b-admin'])).json()) as {
        tokens: Array<{ tenant: string; hash?: string }>;
      };
      assert.ok(bTokens.tokens.length === 2 && bTokens.tokens.every((t) => t.tenant === 'tenant-b' && t.hash === undefined));
    });

    it('revokes a token at once where revoked, and at every gateway within the token cache lifetime', async () => {
      const created = (await (
        await call('POST', '/v1/admin/tokens', tokens['a-admin'], { name: 'short-lived', role: 'reader' })
      ).json()) as {
        id: string;
        token: string;
        tenant: string;
      };
      assert.equal(created.tenant, 'tenant-a');
      const lookupAt = async (url: string) =>
        (
          await fetch(`${url}/v1/cache/lookup`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${created.token}` },
            body: JSON.stringify({ prompt: 'x' }),
          })
        ).status;
      // Every gateway has the token in its cache before the revocation.
      for (const url of target.urls) assert.equal(await lookupAt(url), 200);
      const [revoker = '', ...others] = target.urls;
      const revoked = await fetch(`${revoker}/v1/admin/tokens/${created.id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${tokens['a-admin']}` },
      });
      assert.equal(revoked.status, 200);
      assert.equal(await lookupAt(revoker), 401, 'refused at once by the gateway that revoked it');
      // The others hear of it on the control topic; their cached lookups expire after 5 s in any case.
      for (const url of others) {
        const deadline = Date.now() + 5_000;
        let status = await lookupAt(url);
        while (status !== 401 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          status = await lookupAt(url);
        }
        assert.equal(status, 401, `refused at ${url} within the token cache lifetime`);
      }
    });

    it('keeps concurrent requests of two tenants apart when they send the same x-request-id', async () => {
      const topics = ['glaciers', 'volcanoes', 'coral reefs', 'deserts', 'rainforests', 'tundra', 'mangroves', 'savannas'];
      const as = (tenant: 'a' | 'b', requestId: string) => ({
        authorization: `Bearer ${tokens[`${tenant}-writer`]}`,
        'x-request-id': requestId,
      });
      // The same prompt in both tenants, stored at the same moment under the same client request id.
      for (const [i, topic] of topics.entries()) {
        const requestId = `same-id-store-${i}`;
        const [a, b] = await Promise.all(
          (['a', 'b'] as const).map((tenant) =>
            postJson(
              `${cache.url}/v1/cache/entries?wait=true`,
              { prompt: `Tell me about ${topic}`, response: `${tenant}: ${topic}` },
              as(tenant, requestId),
            ),
          ),
        );
        assert.equal(a?.status, 201, JSON.stringify(a?.body));
        assert.equal(b?.status, 201, JSON.stringify(b?.body));
        assert.notEqual(a?.body.id, b?.body.id);
      }
      // Paraphrases go through the pipeline (no exact repeat), both tenants at once, same id again.
      const lookups = await Promise.all(
        topics.flatMap((topic, i) =>
          (['a', 'b'] as const).map(async (tenant) => {
            const result = await postJson(
              `${cache.url}/v1/cache/lookup`,
              { prompt: `Please tell me about ${topic}` },
              as(tenant, `same-id-lookup-${i}`),
            );
            return { tenant, topic, result };
          }),
        ),
      );
      const serverIds = new Set<string>();
      for (const { tenant, topic, result } of lookups) {
        assert.equal(result.status, 200);
        assert.equal(result.body.hit, true, `${tenant} ${topic}: ${JSON.stringify(result.body)} (a miss here is a lost reply)`);
        assert.equal(result.body.response, `${tenant}: ${topic}`, 'each tenant gets its own answer');
        assert.match(result.headers.get('x-request-id') ?? '', /^same-id-lookup-\d$/, "the caller's id is echoed");
        serverIds.add(result.headers.get('x-llmcache-request-id') ?? '');
      }
      assert.equal(serverIds.size, lookups.length, "every request has the server's own id");
      // Chat completions: both miss at once under one id, and each tenant's answer lands in its own tenant only.
      const chat = (tenant: 'a' | 'b', requestId: string) =>
        postJson(
          `${cache.url}/v1/chat/completions`,
          { model: 'default', messages: [{ role: 'user', content: 'Describe the water cycle.' }] },
          as(tenant, requestId),
        );
      const [firstA, firstB] = await Promise.all([chat('a', 'same-id-chat'), chat('b', 'same-id-chat')]);
      assert.equal(firstA?.status, 200, JSON.stringify(firstA?.body));
      assert.equal(firstB?.status, 200, JSON.stringify(firstB?.body));
      const answerA = firstA?.body.choices[0].message.content as string;
      const answerB = firstB?.body.choices[0].message.content as string;
      assert.notEqual(answerA, answerB, 'two upstream calls, two answers');
      for (const [tenant, answer] of [
        ['a', answerA],
        ['b', answerB],
      ] as const) {
        // The answer is written asynchronously: wait for it through the cache API (a chat miss would call upstream again).
        const deadline = Date.now() + 10_000;
        const stored = () =>
          postJson(
            `${cache.url}/v1/cache/lookup`,
            { messages: [{ role: 'user', content: 'Describe the water cycle.' }] },
            as(tenant, 'same-id-wait'),
          );
        while (!(await stored()).body.hit && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
        const again = await chat(tenant, 'same-id-chat');
        assert.equal(again.headers.get('x-llmcache'), 'hit');
        assert.equal(again.body.choices[0].message.content, answer, `tenant ${tenant} is served its own answer`);
      }
    });

    it("keeps each tenant's threshold to itself, per namespace, across gateways and restarts", async () => {
      const as = (name: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${tokens[name]}`, ...extra });
      const thresholdOf = async (name: string, query = '') =>
        (await call('GET', `/v1/admin/threshold${query}`, tokens[name])).json() as Promise<any>;
      const configured = await thresholdOf('b-admin');
      assert.deepEqual(configured, { tenant: 'tenant-b', namespace: '*', threshold: configured.threshold, source: 'config' });
      for (const tenant of ['a', 'b']) {
        const stored = await postJson(
          `${cache.url}/v1/cache/entries?wait=true`,
          { prompt: 'How tall is Mount Everest?', response: `${tenant}: 8849 m` },
          as(`${tenant}-writer`),
        );
        assert.equal(stored.status, 201);
      }
      // Tenant A's admin sets 0 for its tenant, and tries to reach tenant B by header.
      const put = await call('PUT', '/v1/admin/threshold', tokens['a-admin'], { threshold: 0 }, { 'x-llmcache-tenant': 'tenant-b' });
      assert.equal(put.status, 200);
      assert.deepEqual(await put.json(), { tenant: 'tenant-a', namespace: '*', threshold: 0, source: 'tenant' });
      assert.equal((await call('PUT', '/v1/admin/threshold', tokens['a-writer'], { threshold: 0.5 })).status, 403);
      const unrelated = { prompt: 'What is the capital of Peru?' };
      const lookupAs = async (name: string, body: Record<string, unknown>) =>
        (await postJson(`${cache.url}/v1/cache/lookup`, body, as(name))).body;
      for (let round = 0; round < 2 * target.urls.length; round++) {
        // A's unrelated prompt hits at A's threshold 0 at every gateway (the others read it from the control topic).
        // Well within the 5 s periodic read: the control topic's announcement is what carries it.
        const deadline = Date.now() + 2_500;
        let a = await lookupAs('a-reader', unrelated);
        while (!a.hit && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          a = await lookupAs('a-reader', unrelated);
        }
        assert.equal(a.hit, true, `tenant A's threshold applies: ${JSON.stringify(a)}`);
        assert.equal((await lookupAs('b-writer', unrelated)).hit, false, "tenant A's threshold never reaches tenant B");
      }
      assert.equal((await thresholdOf('b-admin')).source, 'config', "B's admin does not see A's setting");
      assert.equal((await thresholdOf('a-reader')).threshold, 0, "A's reader reads A's threshold");
      // A namespace's own threshold wins over its tenant's.
      const strict = await call('PUT', '/v1/admin/threshold', tokens['a-admin'], { threshold: 0.999, namespace: 'strict' });
      assert.deepEqual(await strict.json(), { tenant: 'tenant-a', namespace: 'strict', threshold: 0.999, source: 'namespace' });
      await postJson(
        `${cache.url}/v1/cache/entries?wait=true`,
        { prompt: 'How tall is Mount Everest?', response: 'strict', namespace: 'strict' },
        as('a-writer'),
      );
      await target.restart();
      // Kept across a restart of every process.
      assert.equal((await thresholdOf('a-admin')).threshold, 0);
      assert.deepEqual(await thresholdOf('a-admin', '?namespace=strict'), {
        tenant: 'tenant-a',
        namespace: 'strict',
        threshold: 0.999,
        source: 'namespace',
      });
      for (let round = 0; round < target.urls.length; round++) {
        assert.equal((await lookupAs('a-reader', { ...unrelated, namespace: 'strict' })).hit, false, 'namespace strict keeps 0.999');
        assert.equal((await lookupAs('a-reader', unrelated)).hit, true, 'tenant A keeps 0 after the restart');
        assert.equal((await lookupAs('b-writer', unrelated)).hit, false);
      }
      // The bootstrap admin, naming no tenant, sets the global default; tenants with their own keep theirs.
      const global = await call('PUT', '/v1/admin/threshold', adminToken, { threshold: 0.97 });
      assert.deepEqual(await global.json(), { tenant: '*', namespace: '*', threshold: 0.97, source: 'global' });
      const deadline = Date.now() + 5_000;
      while ((await thresholdOf('b-admin')).source !== 'global' && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(await thresholdOf('b-admin'), { tenant: 'tenant-b', namespace: '*', threshold: 0.97, source: 'global' });
      assert.equal((await thresholdOf('a-admin')).threshold, 0);
      for (const [token, query] of [
        [adminToken, ''],
        [tokens['a-admin'], '?namespace=strict'],
        [tokens['a-admin'], ''],
      ] as const) {
        assert.equal((await call('DELETE', `/v1/admin/threshold${query}`, token)).status, 200);
      }
      // Every gateway hears of the removal on the control topic (and reads the store every 5 s in any case).
      for (let round = 0; round < target.urls.length; round++) {
        const until = Date.now() + 2_500;
        let current = await thresholdOf('a-admin');
        while (current.source !== 'config' && Date.now() < until) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          current = await thresholdOf('a-admin');
        }
        assert.deepEqual(current, { ...configured, tenant: 'tenant-a' }, 'removed settings fall back to the configuration');
      }
    });
  });
}

defineAuthScenarios('embedded', async (env) => {
  const fullEnv = { ...env, LLMCACHE_DATA_DIR: tempDir({ after: (fn) => process.once('exit', fn) }) };
  let cache = await startCacheProcess(fullEnv);
  const target = {
    urls: [cache.url],
    restart: async () => {
      await cache.stop();
      cache = await startCacheProcess({ ...fullEnv, LLMCACHE_PORT: new URL(cache.url).port });
      target.urls = [cache.url];
    },
    stop: () => cache.stop(),
  };
  return target;
});

defineAuthScenarios('distributed, two gateways', async (env) => {
  const fullEnv = { ...freshDistributedEnv(), ...env };
  const layout = { gateways: 2, matchers: 1 };
  let cluster = await startDistributedCluster(fullEnv, layout);
  const target = {
    urls: cluster.urls,
    restart: async () => {
      await cluster.stop();
      cluster = await startDistributedCluster(fullEnv, layout);
      target.urls = cluster.urls;
    },
    stop: () => cluster.destroy(),
  };
  return target;
});

describe('listening beyond loopback', () => {
  it('refuses to listen beyond loopback without required tokens', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'apps/cli/src/main.ts', 'start'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        LLMCACHE_HOST: '0.0.0.0',
        LLMCACHE_PORT: '0',
        LLMCACHE_DATA_DIR: tempDir({ after: (fn) => process.once('exit', fn) }),
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /not a loopback address: set auth\.required/);
  });
});

describe('per-caller rate limit (embedded)', () => {
  let cache: CacheProcess;
  before(async () => {
    cache = await startCacheProcess({
      LLMCACHE_DATA_DIR: tempDir({ after: (fn) => process.once('exit', fn) }),
      LLMCACHE_RATE_LIMIT_PER_SECOND: '1',
      LLMCACHE_RATE_LIMIT_BURST: '3',
    });
  });
  after(async () => cache?.stop());

  it('answers 429 with Retry-After past the burst, and health stays reachable', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 6; i++) {
      const response = await fetch(`${cache.url}/v1/admin/threshold`);
      statuses.push(response.status);
      if (response.status === 429) {
        retryAfter = response.headers.get('retry-after');
        assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'LLMCACHE_RATE_LIMITED');
      } else await response.arrayBuffer();
    }
    assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
    assert.ok(statuses.slice(3).includes(429), statuses.join(','));
    assert.ok(Number(retryAfter) >= 1);
    assert.equal((await fetch(`${cache.url}/healthz`)).status, 200);
  });
});
