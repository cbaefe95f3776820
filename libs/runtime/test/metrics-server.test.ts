import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Authenticator } from '@llm-cache/gateway';
import { openSqlite, SqliteTokenStore } from '@llm-cache/storage';
import { Metrics } from '@llm-cache/telemetry';
import { metricsAccess, startMetricsServer } from '../src/metrics-server.ts';

test('a service process serves its metrics to a metrics token or the bootstrap admin only, with bounded namespaces', async (t) => {
  const db = openSqlite(':memory:');
  t.after(() => db.close());
  const tokens = new SqliteTokenStore(db);
  const adminToken = 'bootstrap-admin-token-for-the-test';
  const issuer = new Authenticator({ required: true, adminToken, defaultTenant: 'default', tokens });
  const metricsToken = (await issuer.create({ name: 'prometheus', role: 'metrics', tenant: '*' })).token;
  const adminOfTenant = (await issuer.create({ name: 'acme-admin', role: 'admin', tenant: 'acme' })).token;

  const metrics = new Metrics({ defaultMetrics: false, namespaceLabels: 2 });
  for (const namespace of ['a', 'b', 'c', 'd']) metrics.decisions.inc({ namespace, policy: 'static', decision: 'miss' });
  const server = await startMetricsServer(metrics, '127.0.0.1', 0, metricsAccess({ adminToken, defaultTenant: 'default', tokens }));
  t.after(() => server.close());
  const scrape = (token?: string) => fetch(`${server.url}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

  const anonymous = await scrape();
  assert.equal(anonymous.status, 401);
  assert.equal(((await anonymous.json()) as { error: { code: string } }).error.code, 'LLMCACHE_UNAUTHORIZED');
  const tenantAdmin = await scrape(adminOfTenant);
  assert.equal(tenantAdmin.status, 403, "a tenant's admin does not read every tenant's figures");
  assert.equal(((await tenantAdmin.json()) as { error: { code: string } }).error.code, 'LLMCACHE_FORBIDDEN');
  assert.equal((await scrape(adminToken)).status, 200);
  const scraped = await scrape(metricsToken);
  assert.equal(scraped.status, 200);
  const namespaces = [...(await scraped.text()).matchAll(/^llmcache_decisions_total\{namespace="([^"]+)"/gm)].map((m) => m[1]);
  assert.deepEqual(namespaces.sort(), ['a', 'b', 'other']);

  const missing = await fetch(`${server.url}/nothing`);
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'LLMCACHE_NOT_FOUND');
});
