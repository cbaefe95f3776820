/**
 * The verified decision policy end to end, in both modes with the same checks: an explored near hit
 * is answered upstream, its answer compared with the cached one and the outcome recorded; feedback
 * on hits (sent to another gateway in distributed mode) turns later lookups of the same question
 * into misses.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { postJson, startCacheProcess, type CacheProcess } from '../helpers/cache-process.ts';
import { freshDistributedEnv, startDistributedCluster } from '../helpers/distributed-cluster.ts';
import { startUpstreamStandIn, type UpstreamStandIn } from '../helpers/upstream-stand-in.ts';

interface Running {
  /** Gateways; feedback goes to the last one. */
  urls: string[];
  stop(): Promise<void>;
  output(): string;
}

/**
 * Generous settings so that a handful of outcomes already decide: a budget of 30% wrong answers
 * and bounds at 50% confidence (the estimate itself). `explore` explores every affordable hit.
 */
const NAMESPACES = {
  explore: { policy: 'verified', maxFalseHitRate: 0.3, confidence: 0.5, explorationFloor: 1 },
  learned: { policy: 'verified', maxFalseHitRate: 0.3, confidence: 0.5 },
};

const ROUTER = 'How do I reset my home router?';
const ROUTER_ANSWER = 'Unplug the router, wait thirty seconds, and plug it back in.';
const PARAPHRASES = [
  'What is the way to reset my router at home?',
  'How can I reset the router in my house?',
  'How should I reset my home wifi router?',
  'What steps reset a home router?',
  'How do you reset a router at home?',
  'Resetting my home router: how do I do it?',
  'How would I go about resetting my home router?',
  'Can you tell me how to reset my home router?',
];
/** Looked up through the cache API only, so it is never stored itself. */
const PROBE = 'How to reset a home router?';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function chat(url: string, namespace: string, question: string): Promise<{ status: string | null; answer: string }> {
  const response = await postJson(
    `${url}/v1/chat/completions`,
    { model: 'gpt-test', messages: [{ role: 'user', content: question }] },
    { authorization: 'Bearer sk-caller', 'x-llmcache-namespace': namespace },
  );
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return { status: response.headers.get('x-llmcache'), answer: response.body.choices[0].message.content };
}

async function report(url: string, namespace: string): Promise<any> {
  const response = await fetch(`${url}/v1/admin/decision?namespace=${namespace}`);
  assert.equal(response.status, 200);
  return response.json();
}

/** Polls the decision report until `done` holds or the deadline passes; returns the last report. */
async function eventually(url: string, namespace: string, done: (r: any) => boolean, timeoutMs = 15_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await report(url, namespace);
    if (done(current) || Date.now() > deadline) return current;
    await sleep(150);
  }
}

async function store(url: string, namespace: string, prompt: string, response: string): Promise<void> {
  const stored = await postJson(`${url}/v1/cache/entries?wait=true`, { prompt, response, namespace });
  assert.equal(stored.status, 201, JSON.stringify(stored.body));
}

function defineVerifiedScenarios(mode: string, start: (env: Record<string, string>) => Promise<Running>): void {
  describe(`verified hits (${mode})`, () => {
    let upstream: UpstreamStandIn;
    let cache: Running;
    const cleanups: Array<() => Promise<void>> = [];

    before(async () => {
      upstream = await startUpstreamStandIn({ after: (fn: () => Promise<void>) => void cleanups.push(fn) });
      upstream.answer = (question) => (/router/i.test(question) ? ROUTER_ANSWER : `Something else about: ${question}`);
      cache = await start({
        LLMCACHE_UPSTREAM_BASE_URL: upstream.url,
        LLMCACHE_UPSTREAM_API_KEY: 'sk-upstream-test-key',
        LLMCACHE_DECISION_NAMESPACES: JSON.stringify(NAMESPACES),
      });
    });

    after(async () => {
      await cache?.stop();
      for (const cleanup of cleanups) await cleanup();
    });

    it('answers an explored near hit upstream, verifies it against the cached answer and records the outcome', async () => {
      const url = cache.urls[0] as string;
      await store(url, 'explore', ROUTER, ROUTER_ANSWER);
      const before = await report(url, 'explore');
      assert.equal(before.policy, 'verified');
      assert.deepEqual(before.explored, { count: 0, wrong: 0, predictedRisk: 0 });
      const callsBefore = upstream.calls.length;
      let explored: any = before;
      for (const question of PARAPHRASES.slice(0, 4)) {
        const answer = await chat(url, 'explore', question);
        // Every affordable hit of this namespace is explored: the caller always gets the upstream answer.
        assert.equal(answer.status, 'miss');
        assert.equal(answer.answer, ROUTER_ANSWER);
        explored = await eventually(url, 'explore', (r) => r.explored.count > 0, 3000);
        if (explored.explored.count > 0) break;
      }
      assert.ok(explored.explored.count >= 1, `no explored outcome was recorded: ${JSON.stringify(explored)}\n${cache.output()}`);
      assert.equal(explored.explored.wrong, 0, 'the upstream answer equals the cached one, so the would-be hit was right');
      assert.ok(explored.verifiedHits.correct >= 1);
      assert.equal(explored.observedFalseHitRate, 0);
      assert.ok(explored.outcomes.correct >= explored.explored.count);
      assert.ok(upstream.calls.length > callsBefore);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      const calls = /llmcache_exploration_upstream_calls_total\{namespace="explore"\} (\d+)/.exec(metrics);
      assert.ok(Number(calls?.[1] ?? 0) >= 1, 'the upstream call an exploration cost is counted');
    });

    it('learns from verified misses to hit, and feedback on hits (through any gateway) turns those hits into misses', async () => {
      const url = cache.urls[0] as string;
      const feedbackUrl = cache.urls[cache.urls.length - 1] as string;
      await store(url, 'learned', ROUTER, ROUTER_ANSWER);
      // Misses near the entry are answered upstream and verified: the namespace learns that such scores are right.
      for (const question of PARAPHRASES) {
        await chat(url, 'learned', question);
        const learned = await eventually(url, 'learned', (r) => r.outcomes.correct >= 3, 1500);
        if (learned.outcomes.correct >= 3) break;
      }
      const hits: string[] = [];
      let entryId: string | undefined;
      for (let attempt = 0; attempt < 80 && hits.length < 6; attempt++) {
        const lookup = await postJson(`${url}/v1/cache/lookup`, { prompt: PROBE, namespace: 'learned' });
        assert.equal(lookup.status, 200);
        if (!lookup.body.hit) continue;
        assert.equal(lookup.body.response, ROUTER_ANSWER);
        entryId ??= lookup.body.id;
        hits.push(lookup.headers.get('x-llmcache-request-id') as string);
      }
      assert.equal(hits.length, 6, `the probe was not hit often enough after learning: ${JSON.stringify(await report(url, 'learned'))}`);

      const unknown = await postJson(`${feedbackUrl}/v1/cache/feedback`, { requestId: 'never-answered', correct: false });
      assert.equal(unknown.status, 404);
      assert.equal((await postJson(`${feedbackUrl}/v1/cache/feedback`, { requestId: hits[0], correct: 'no' })).status, 400);
      for (const requestId of hits) {
        const feedback = await postJson(`${feedbackUrl}/v1/cache/feedback`, { requestId, correct: false });
        assert.equal(feedback.status, 202, JSON.stringify(feedback.body));
        assert.deepEqual(feedback.body, { requestId, entryId, accepted: true });
      }
      const recorded = await eventually(url, 'learned', (r) => r.verifiedHits.wrong >= hits.length);
      assert.equal(recorded.verifiedHits.wrong, hits.length, 'each feedback is recorded once');
      assert.ok(recorded.observedFalseHitRate > 0);

      // The entry's own wrong outcomes now outweigh the namespace's curve: the same lookup misses.
      let misses = 0;
      const deadline = Date.now() + 15_000;
      while (misses < 10 && Date.now() < deadline) {
        const lookup = await postJson(`${url}/v1/cache/lookup`, { prompt: PROBE, namespace: 'learned' });
        misses = lookup.body.hit ? 0 : misses + 1;
      }
      assert.equal(misses, 10, 'lookups still hit the entry that feedback called wrong');
      // A lookup that names its own threshold is decided by that threshold, as before.
      const explicit = await postJson(`${url}/v1/cache/lookup`, { prompt: PROBE, namespace: 'learned', threshold: 0.5 });
      assert.equal(explicit.body.hit, true);
    });
  });
}

defineVerifiedScenarios('embedded', async (env) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'llm-cache-verified-'));
  const running: CacheProcess = await startCacheProcess({ LLMCACHE_DATA_DIR: dataDir, ...env });
  return {
    urls: [running.url],
    output: () => running.output(),
    stop: async () => {
      await running.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
});

defineVerifiedScenarios('distributed, two gateways', async (env) => {
  const cluster = await startDistributedCluster({ ...freshDistributedEnv(), ...env }, { gateways: 2, matchers: 1 });
  return { urls: cluster.urls, output: () => cluster.output(), stop: () => cluster.destroy() };
});
