import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metrics } from '../src/index.ts';

/** The namespace label values of each llmcache_ metric in a Prometheus exposition. */
function namespacesByMetric(exposition: string): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  for (const match of exposition.matchAll(/^(llmcache_[a-z_]+)\{[^}]*\bnamespace="([^"]*)"/gm)) {
    const [, metric, namespace] = match as unknown as [string, string, string];
    found.set(metric, (found.get(metric) ?? new Set()).add(namespace));
  }
  return found;
}

test('per-namespace series are bounded: the first namespaces keep their label, the rest count as other', async () => {
  const metrics = new Metrics({ defaultMetrics: false, namespaceLabels: 10 });
  for (let i = 0; i < 300; i++) {
    const namespace = `ns-${i}`;
    metrics.lookups.inc({ outcome: 'miss', tier: 'semantic', namespace });
    metrics.tokensSaved.inc({ namespace, model: 'm' }, 3);
    metrics.decisions.inc({ namespace, policy: 'static', decision: 'miss' });
    metrics.explorationRate.set({ namespace }, 0.5);
  }
  metrics.watchNamespaces(async () =>
    Array.from({ length: 300 }, (_, i) => ({ tenant: `tenant-${i % 7}`, namespace: `ns-${i}`, entries: i, bytes: 10 * i })),
  );
  const found = namespacesByMetric(await metrics.registry.metrics());
  for (const metric of ['llmcache_lookups_total', 'llmcache_tokens_saved_total', 'llmcache_decisions_total', 'llmcache_entries']) {
    const namespaces = found.get(metric);
    assert.ok(namespaces, `${metric} has namespace series`);
    assert.ok(namespaces.size <= 11, `${metric} has ${namespaces.size} namespaces`);
    assert.ok(namespaces.has('other'), `${metric} counts the rest under other`);
  }
  assert.ok((found.get('llmcache_exploration_rate')?.size ?? 0) <= 10, 'a ratio has no other series');
  const total = (await metrics.lookups.get()).values.reduce((sum, { value }) => sum + value, 0);
  assert.equal(total, 300, 'no lookup is lost');
  const other = (await metrics.lookups.get()).values.find(({ labels }) => labels.namespace === 'other');
  assert.equal(other?.value, 290);
  // The entry gauges keep the largest namespaces and sum the others.
  const entries = (await metrics.namespaceEntries.get()).values;
  assert.ok(entries.some(({ labels }) => labels.namespace === 'ns-299'));
  const rest = entries.find(({ labels }) => labels.namespace === 'other');
  assert.deepEqual(rest?.labels, { tenant: 'other', namespace: 'other' });
  assert.equal(rest?.value, (289 * 290) / 2, 'the entries of ns-0 .. ns-289');
});

test('a lower limit drops the series of the namespaces that lose their label', async () => {
  const metrics = new Metrics({ defaultMetrics: false });
  for (const namespace of ['a', 'a', 'b', 'c']) metrics.lookups.inc({ outcome: 'hit', tier: 'exact', namespace });
  metrics.limitNamespaces(1);
  await new Promise((resolve) => setImmediate(resolve));
  metrics.lookups.inc({ outcome: 'hit', tier: 'exact', namespace: 'c' });
  const values = (await metrics.lookups.get()).values.map(({ labels, value }) => [labels.namespace, value]);
  assert.deepEqual(values.sort(), [
    ['a', 2],
    ['other', 1],
  ]);
});
