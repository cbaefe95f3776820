import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { requireServer, STACK } from '@llm-cache/testing';
import { postJson, startCacheProcess, tempDir } from '../helpers/cache-process.ts';

/** The port the stack's Prometheus scrapes (infra/stack/prometheus.yml). */
const SCRAPED_PORT = '8080';

async function query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const response = await fetch(`${STACK.prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await response.json()) as {
    status: string;
    data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
  };
  assert.equal(body.status, 'success', JSON.stringify(body));
  return body.data.result;
}

/** Polls Prometheus until `check` accepts the query's result (scrapes happen every second). */
async function eventually<T>(expr: string, check: (result: Awaited<ReturnType<typeof query>>) => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  let last: unknown;
  while (Date.now() < deadline) {
    const result = await query(expr);
    last = result;
    const accepted = check(result);
    if (accepted !== undefined) return accepted;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`Prometheus never showed ${what}; last result of ${expr}: ${JSON.stringify(last)}`);
}

test('the stack Prometheus scrapes /metrics and its hit ratio is the one the traffic produced', async (t) => {
  await requireServer('Prometheus', STACK.prometheusUrl.replace(/^http:\/\//, ''));
  const cache = await startCacheProcess({ LLMCACHE_DATA_DIR: tempDir(t), LLMCACHE_PORT: SCRAPED_PORT });
  t.after(() => cache.stop());
  const namespace = `prom-${randomUUID().slice(0, 8)}`;

  const stored = ['How do I reset my password?', 'What are your opening hours?', 'Where is my order?'];
  for (const [i, prompt] of stored.entries()) {
    const response = await postJson(`${cache.url}/v1/cache/entries?wait=true`, { prompt, response: `answer ${i}`, namespace });
    assert.equal(response.status, 201, JSON.stringify(response.body));
  }
  // 5 hits (3 exact repeats, 2 paraphrases) and 3 misses: a hit ratio of 5/8.
  const lookups = [
    ...stored,
    'How can I reset my password?',
    'What time do you open?',
    'What is the capital of Peru?',
    'How many legs does a spider have?',
    'Which year did the Berlin wall fall?',
  ];
  let hits = 0;
  for (const prompt of lookups) {
    const response = await postJson(`${cache.url}/v1/cache/lookup`, { prompt, namespace });
    assert.equal(response.status, 200);
    if (response.body.hit) hits++;
  }
  assert.ok(hits > 0 && hits < lookups.length, `the traffic has both hits and misses (${hits} hits)`);
  const expected = hits / lookups.length;

  const ratioExpr = `sum(llmcache_lookups_total{namespace="${namespace}",outcome="hit"}) / sum(llmcache_lookups_total{namespace="${namespace}"})`;
  const ratio = await eventually(
    ratioExpr,
    (result) => {
      const value = result[0] ? Number(result[0].value[1]) : undefined;
      return value !== undefined && Math.abs(value - expected) < 1e-9 ? value : undefined;
    },
    `a hit ratio of ${expected}`,
  );
  assert.equal(ratio, expected);

  const entries = await eventually(
    `llmcache_entries{namespace="${namespace}"}`,
    (result) => (result[0] && Number(result[0].value[1]) === stored.length ? Number(result[0].value[1]) : undefined),
    `${stored.length} entries in ${namespace}`,
  );
  assert.equal(entries, stored.length);
  const up = await query(`up{job="llm-cache-gateway"}`);
  assert.equal(up[0]?.value[1], '1', 'the gateway target is up');
  const lag = await query('llmcache_consumer_lag{service="writer"}');
  assert.ok(lag.length > 0, 'consumer lag is reported per service');
});
