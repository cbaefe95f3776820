import assert from 'node:assert/strict';
import { test } from 'node:test';
import { usedPartitions } from '@llm-cache/testing';
import { postJson } from '../helpers/cache-process.ts';
import { freshDistributedEnv, startDistributedCluster } from '../helpers/distributed-cluster.ts';

test("one scope's lookups spread over the partitions, so added embedders and matchers share them", async (t) => {
  const env = freshDistributedEnv(); // 4 partitions a topic
  const cluster = await startDistributedCluster(env, { gateways: 1, matchers: 2 });
  t.after(() => cluster.destroy());
  const url = cluster.urls[0] as string;
  const stored = await postJson(`${url}/v1/cache/entries?wait=true`, {
    prompt: 'How do I reverse a list in Python?',
    response: 'my_list[::-1]',
  });
  assert.equal(stored.status, 201, JSON.stringify(stored.body));
  // One application, one model, default parameters: one scope. Distinct texts, so each goes through the pipeline.
  for (let i = 0; i < 24; i++) {
    const lookup = await postJson(`${url}/v1/cache/lookup`, { prompt: `What is the way to reverse a Python list? (variant ${i})` });
    assert.equal(lookup.status, 200);
    assert.equal(lookup.body.hit, true, `lookup ${i}: ${JSON.stringify(lookup.body)}`);
  }
  const prefix = env.LLMCACHE_KAFKA_TOPIC_PREFIX as string;
  const embedded = await usedPartitions(`${prefix}llmcache.embedded`);
  assert.ok(embedded.length >= 3, `the lookups of one scope reached partitions ${embedded.join(', ')} of 4`);
  const requests = await usedPartitions(`${prefix}llmcache.requests`);
  assert.ok(requests.length >= 3, `requests on partitions ${requests.join(', ')}`);
});
