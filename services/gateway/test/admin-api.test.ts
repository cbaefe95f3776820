import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { MemoryBus } from '@llm-cache/bus';
import { TOPICS } from '@llm-cache/codec';
import { idleGateway } from '@llm-cache/gateway';

/** A gateway HTTP server on in-memory stores and the in-process bus, without auth (every caller is admin). */
async function gateway(t: TestContext): Promise<{ app: FastifyInstance; bus: MemoryBus }> {
  const idle = await idleGateway({ authRequired: false });
  t.after(() => idle.close());
  return idle;
}

type Listed = Array<Record<string, unknown>>;

/** The evictions the API lists, polled until `ready` holds (the bus delivers after publish resolves). */
async function listedEvictions(app: FastifyInstance, ready: (evictions: Listed) => boolean): Promise<Listed> {
  for (let attempt = 0; ; attempt++) {
    const { evictions } = (await app.inject({ method: 'GET', url: '/v1/admin/evictions' })).json() as { evictions: Listed };
    if (ready(evictions) || attempt === 100) return evictions;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('GET /v1/admin/evictions lists the latest announced evictions of the tenant, newest first, bounded', async (t) => {
  const { app, bus } = await gateway(t);
  const ids = Array.from({ length: 25 }, (_, i) => `entry-${i}`);
  await bus.publish(TOPICS.evictions, 'k', { entryIds: ids, tenant: 'default', namespace: 'faq', reason: 'CAPACITY', at: 1_000 });
  await bus.publish(TOPICS.evictions, 'k', { entryIds: ['x'], tenant: 'other', namespace: 'faq', reason: 'TTL', at: 1_001 });
  await bus.publish(TOPICS.evictions, 'k', { entryIds: ['y'], tenant: 'default', namespace: null, reason: 'PURGE', at: 1_002 });
  assert.equal((await app.inject({ method: 'GET', url: '/v1/admin/evictions' })).statusCode, 200);
  assert.deepEqual(await listedEvictions(app, (listed) => listed.length >= 2), [
    { at: 1_002, reason: 'PURGE', count: 1, entryIds: ['y'] },
    { at: 1_000, reason: 'CAPACITY', namespace: 'faq', count: 25, entryIds: ids.slice(0, 10) },
  ]);

  for (let i = 0; i < 150; i++)
    await bus.publish(TOPICS.evictions, 'k', { entryIds: [`e${i}`], tenant: 'default', namespace: 'faq', reason: 'DELETE', at: 2_000 + i });
  // Delivered in order: once the last one is listed, all are.
  const latest = await listedEvictions(app, (listed) => listed[0]?.at === 2_149);
  assert.equal(latest.length, 100, 'only the last 100 are kept');
  assert.equal(latest[0]?.at, 2_149);
  assert.equal(latest[99]?.at, 2_050);
});

test('GET /v1/admin/stats reports the lookups of the gateway and a hit rate of 0 before any', async (t) => {
  const { app } = await gateway(t);
  const stats = (await app.inject({ method: 'GET', url: '/v1/admin/stats' })).json() as { lookups: unknown };
  assert.deepEqual(stats.lookups, { total: 0, exactHits: 0, semanticHits: 0, misses: 0, hitRate: 0 });
});

test('a malformed or over-long path gets the JSON error of the API with a 400', async (t) => {
  const { app } = await gateway(t);
  for (const url of [`/v1/cache/entries/${'a'.repeat(500)}`, '/v1/cache/entries/%E0%A4%A', `/v1/admin/tokens/${'b'.repeat(129)}`]) {
    const answer = await app.inject({ method: 'DELETE', url });
    assert.equal(answer.statusCode, 400, url);
    assert.match(String(answer.headers['content-type']), /^application\/json/);
    const body = answer.json() as { error: { code: string; message: string } };
    assert.match(body.error.code, /^LLMCACHE_(VALIDATION|BAD_REQUEST)$/, url);
  }
});

test('GET /admin serves the page with a policy that allows its own inline script and nothing else', async (t) => {
  const { app } = await gateway(t);
  const page = await app.inject({ method: 'GET', url: '/admin' });
  assert.equal(page.statusCode, 200);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  const script = /<script>([\s\S]*?)<\/script>/.exec(page.body)?.[1] ?? '';
  const policy = String(page.headers['content-security-policy']);
  assert.ok(policy.includes(`script-src 'sha256-${createHash('sha256').update(script).digest('base64')}'`), policy);
  assert.match(policy, /default-src 'none'/);
  assert.match(policy, /connect-src 'self'/);
  assert.doesNotMatch(page.body, /https?:\/\//, 'no external resources');
});

test('a tenant keeps at most 1000 thresholds, and may still change or remove the ones it has', async (t) => {
  const { app } = await gateway(t);
  const put = (body: Record<string, unknown>) => app.inject({ method: 'PUT', url: '/v1/admin/threshold', payload: body });
  assert.equal((await put({ threshold: 0.9 })).statusCode, 200, "the tenant's default counts too");
  for (let i = 1; i < 1000; i++) assert.equal((await put({ threshold: 0.9, namespace: `ns-${i}` })).statusCode, 200);
  const refused = await put({ threshold: 0.9, namespace: 'one-too-many' });
  assert.equal(refused.statusCode, 400);
  assert.match(refused.json().error.message, /at most 1000 thresholds/);
  assert.equal((await put({ threshold: 0.95, namespace: 'ns-1' })).statusCode, 200, 'an existing one can change');
  assert.equal((await app.inject({ method: 'DELETE', url: '/v1/admin/threshold?namespace=ns-1' })).statusCode, 200);
  assert.equal((await put({ threshold: 0.9, namespace: 'one-too-many' })).statusCode, 200, 'room again after a removal');
});
