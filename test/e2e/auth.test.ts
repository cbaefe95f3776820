import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { postJson, REPO_ROOT, startCacheProcess, tempDir, type CacheProcess } from '../helpers/cache-process.ts';
import { freshDistributedEnv, startDistributedCluster } from '../helpers/distributed-cluster.ts';

interface AuthTarget {
  /** Every gateway; requests go to them in turn, so a token made at one must work at the others. */
  urls: string[];
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

    before(async () => {
      target = await start({ LLMCACHE_AUTH_REQUIRED: 'true', LLMCACHE_AUTH_ADMIN_TOKEN: adminToken });
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
    after(async () => target?.stop());

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
        { authorization: `Bearer ${tokens['b-writer']}` },
      );
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
  });
}

defineAuthScenarios('embedded', async (env) => {
  const cache = await startCacheProcess({ ...env, LLMCACHE_DATA_DIR: tempDir({ after: (fn) => process.once('exit', fn) }) });
  return { urls: [cache.url], stop: () => cache.stop() };
});

defineAuthScenarios('distributed, two gateways', async (env) => {
  const cluster = await startDistributedCluster({ ...freshDistributedEnv(), ...env }, { gateways: 2, matchers: 1 });
  return { urls: cluster.urls, stop: () => cluster.destroy() };
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
