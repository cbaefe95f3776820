import assert from 'node:assert/strict';
import { describe, it, before, after } from 'node:test';
import OpenAI from 'openai';
import { cosine, defaultModelDir, ensureModel, OnnxEmbedder, OpenAIEmbedder } from '@llm-cache/embedding';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postJson, REPO_ROOT } from '../helpers/cache-process.ts';
import { startUpstreamStandIn, type UpstreamStandIn } from '../helpers/upstream-stand-in.ts';
import { defineLongPromptScenarios } from './long-prompts.ts';

/** A running LLM-Cache, in whichever mode, as the scenarios see it. */
export interface CacheUnderTest {
  url: string;
  /** Stops every process and starts them again on the same data (with extra settings if given). */
  restart(extraEnv?: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
  /** Everything the processes logged, for failure reports. */
  output(): string;
}

export type StartCache = (env: Record<string, string>) => Promise<CacheUnderTest>;

const QUESTION = 'How do I reverse a list in Python?';
const PARAPHRASE = "What's the way to reverse a Python list?";
const UNRELATED = 'What is the boiling point of water at sea level?';
const ANSWER = 'Use my_list.reverse() in place, or my_list[::-1] for a reversed copy.';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls a lookup until it hits (an asynchronous write becomes visible) or the deadline passes. */
async function eventuallyHit(url: string, body: Record<string, unknown>, timeoutMs = 10_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await postJson(`${url}/v1/cache/lookup`, body);
    if (result.body?.hit || Date.now() > deadline) return result.body;
    await sleep(100);
  }
}

/** The end-to-end scenarios every mode must pass unchanged. */
export function defineCacheScenarios(mode: string, start: StartCache): void {
  describe(`LLM-Cache end to end (${mode})`, () => {
    let upstream: UpstreamStandIn;
    let cache: CacheUnderTest;
    const cleanups: Array<() => Promise<void>> = [];

    before(async () => {
      upstream = await startUpstreamStandIn({ after: (fn: () => Promise<void>) => void cleanups.push(fn) });
      cache = await start({ LLMCACHE_UPSTREAM_BASE_URL: upstream.url, LLMCACHE_UPSTREAM_API_KEY: 'sk-upstream-test-key' });
    });

    after(async () => {
      await cache?.stop();
      for (const cleanup of cleanups) await cleanup();
    });

    it('stores an answer and finds it again by a paraphrase, with its score', async () => {
      const stored = await postJson(`${cache.url}/v1/cache/entries?wait=true`, { prompt: QUESTION, response: ANSWER, tags: ['python'] });
      assert.equal(stored.status, 201, JSON.stringify(stored.body));
      assert.match(stored.body.id, /^[0-9a-f]{32}$/);
      const threshold = ((await (await fetch(`${cache.url}/v1/admin/threshold`)).json()) as { threshold: number }).threshold;
      const lookup = await postJson(`${cache.url}/v1/cache/lookup`, { prompt: PARAPHRASE });
      assert.equal(lookup.status, 200);
      assert.equal(lookup.body.hit, true, `paraphrase should hit: ${JSON.stringify(lookup.body)}`);
      assert.equal(lookup.body.response, ANSWER);
      assert.equal(lookup.body.id, stored.body.id);
      assert.ok(lookup.body.score >= threshold && lookup.body.score <= 1, `score ${lookup.body.score}`);
    });

    defineLongPromptScenarios(() => cache.url);

    it('answers an unrelated question with a miss', async () => {
      const lookup = await postJson(`${cache.url}/v1/cache/lookup`, { prompt: UNRELATED });
      assert.equal(lookup.status, 200);
      assert.equal(lookup.body.hit, false);
      assert.equal(lookup.body.response, undefined);
    });

    it('keeps models, namespaces and parameters apart', async () => {
      for (const body of [
        { prompt: QUESTION, model: 'another-model' },
        { prompt: QUESTION, namespace: 'another-namespace' },
        { prompt: QUESTION, params: { temperature: 0.9 } },
      ]) {
        const lookup = await postJson(`${cache.url}/v1/cache/lookup`, body);
        assert.equal(lookup.body.hit, false, `${JSON.stringify(body)} must miss`);
      }
    });

    it('turns a hit into a miss at once when the threshold is raised through the admin API', async () => {
      const before = await postJson(`${cache.url}/v1/cache/lookup`, { prompt: PARAPHRASE });
      assert.equal(before.body.hit, true);
      const original = ((await (await fetch(`${cache.url}/v1/admin/threshold`)).json()) as { threshold: number }).threshold;
      const put = await fetch(`${cache.url}/v1/admin/threshold`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ threshold: 0.999 }),
      });
      const changed = (await put.json()) as { threshold: number };
      assert.equal(put.status, 200);
      assert.equal(changed.threshold, 0.999);
      try {
        const afterRaise = await postJson(`${cache.url}/v1/cache/lookup`, { prompt: PARAPHRASE });
        assert.equal(afterRaise.body.hit, false, 'the raised threshold applies to the very next request');
        const exact = await postJson(`${cache.url}/v1/cache/lookup`, { prompt: QUESTION });
        assert.equal(exact.body.hit, true, 'the stored prompt itself still hits');
      } finally {
        await fetch(`${cache.url}/v1/admin/threshold`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ threshold: original }),
        });
      }
      const restored = await postJson(`${cache.url}/v1/cache/lookup`, { prompt: PARAPHRASE });
      assert.equal(restored.body.hit, true, 'restoring the threshold restores the hit');
    });

    it('serves /v1/chat/completions from the upstream once, then a paraphrase from the cache', async () => {
      const client = new OpenAI({ baseURL: `${cache.url}/v1`, apiKey: 'unused-by-the-cache' });
      const callsBefore = upstream.calls.length;
      const first = await client.chat.completions
        .create({ model: 'gpt-test', messages: [{ role: 'user', content: 'What is the capital city of France?' }], temperature: 0 })
        .withResponse();
      assert.equal(first.response.headers.get('x-llmcache'), 'miss');
      assert.equal(upstream.calls.length, callsBefore + 1);
      assert.equal(upstream.calls.at(-1)?.authorization, 'Bearer sk-upstream-test-key');
      const answer = first.data.choices[0]?.message.content;
      assert.match(answer ?? '', /^Answer #\d+ to: What is the capital city of France\?$/);
      await eventuallyHit(cache.url, {
        messages: [{ role: 'user', content: 'What is the capital city of France?' }],
        model: 'gpt-test',
        params: { temperature: 0 },
      });
      const second = await client.chat.completions
        .create({ model: 'gpt-test', messages: [{ role: 'user', content: "What's the capital city of France?" }], temperature: 0 })
        .withResponse();
      assert.equal(second.response.headers.get('x-llmcache'), 'hit');
      assert.ok(Number(second.response.headers.get('x-llmcache-score')) > 0);
      assert.equal(second.data.choices[0]?.message.content, answer);
      assert.equal(second.data.object, 'chat.completion');
      assert.equal(upstream.calls.length, callsBefore + 1, 'the paraphrase made no upstream call');
    });

    it('streams a miss through and replays a paraphrase as a stream the openai client reads', async () => {
      const client = new OpenAI({ baseURL: `${cache.url}/v1`, apiKey: 'unused-by-the-cache' });
      const callsBefore = upstream.calls.length;
      const question = 'Explain how photosynthesis works in plants';
      const first = await client.chat.completions
        .create({ model: 'gpt-test', messages: [{ role: 'user', content: question }], stream: true })
        .withResponse();
      assert.equal(first.response.headers.get('x-llmcache'), 'miss');
      let streamed = '';
      const arrivals: number[] = [];
      for await (const chunk of first.data) {
        streamed += chunk.choices[0]?.delta?.content ?? '';
        arrivals.push(performance.now());
      }
      assert.ok(arrivals.length > 3, 'the miss arrived in several chunks');
      // The stand-in waits 20 ms between chunks: forwarded as they come, they arrive spread out, not all at the end.
      assert.ok(
        (arrivals.at(-1) as number) - (arrivals[0] as number) > 100,
        `chunks arrived over ${(arrivals.at(-1) as number) - (arrivals[0] as number)} ms`,
      );
      assert.equal(upstream.calls.length, callsBefore + 1);
      await eventuallyHit(cache.url, { messages: [{ role: 'user', content: question }], model: 'gpt-test' });
      const second = await client.chat.completions
        .create({
          model: 'gpt-test',
          messages: [{ role: 'user', content: 'Explain how photosynthesis works in plants.' }],
          stream: true,
          stream_options: { include_usage: true },
        })
        .withResponse();
      assert.equal(second.response.headers.get('x-llmcache'), 'hit');
      let replayed = '';
      let finish: string | null | undefined;
      let usage: unknown;
      for await (const chunk of second.data) {
        replayed += chunk.choices[0]?.delta?.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (chunk.usage) usage = chunk.usage;
      }
      assert.equal(replayed, streamed);
      assert.equal(finish, 'stop');
      assert.ok(usage, 'include_usage gives a usage chunk');
      assert.equal(upstream.calls.length, callsBefore + 1, 'the replay made no upstream call');
    });

    it('deletes by id and purges by tag', async () => {
      const a = await postJson(`${cache.url}/v1/cache/entries?wait=true`, {
        prompt: 'How tall is Mount Everest?',
        response: '8,849 m',
        tags: ['geo'],
      });
      const b = await postJson(`${cache.url}/v1/cache/entries?wait=true`, {
        prompt: 'How long is the river Nile?',
        response: '6,650 km',
        tags: ['geo', 'rivers'],
      });
      const c = await postJson(`${cache.url}/v1/cache/entries?wait=true`, {
        prompt: 'Who wrote Hamlet?',
        response: 'Shakespeare',
        tags: ['books'],
      });
      assert.equal((await postJson(`${cache.url}/v1/cache/lookup`, { prompt: 'How tall is Mount Everest?' })).body.hit, true);
      const deleted = await fetch(`${cache.url}/v1/cache/entries/${a.body.id}`, { method: 'DELETE' });
      assert.equal(deleted.status, 200);
      assert.equal((await postJson(`${cache.url}/v1/cache/lookup`, { prompt: 'How tall is Mount Everest?' })).body.hit, false);
      const purge = await postJson(`${cache.url}/v1/cache/purge`, { tags: ['rivers'] });
      assert.deepEqual(purge.body, { purged: 1 });
      assert.equal((await postJson(`${cache.url}/v1/cache/lookup`, { prompt: 'How long is the river Nile?' })).body.hit, false);
      assert.equal((await postJson(`${cache.url}/v1/cache/lookup`, { prompt: 'Who wrote Hamlet?' })).body.hit, true);
      assert.ok(b.body.id && c.body.id);
    });

    it('answers bad input with a 4xx JSON error and loses nothing', async () => {
      const expectError = async (response: Response, status: number, code: RegExp): Promise<void> => {
        assert.equal(response.status, status);
        const body = (await response.json()) as { error?: { code?: string; message?: string } };
        assert.match(body.error?.code ?? '', code);
        assert.ok((body.error?.message ?? '').length > 0);
      };
      const post = (path: string, body: string, type = 'application/json'): Promise<Response> =>
        fetch(`${cache.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body });
      await expectError(await post('/v1/cache/lookup', '{"prompt": '), 400, /^LLMCACHE_BAD_REQUEST$/);
      await expectError(await post('/v1/cache/entries', '{"prompt": "x"}'), 400, /^LLMCACHE_VALIDATION$/);
      await expectError(await post('/v1/cache/entries', '{"prompt": 42, "response": "x"}'), 400, /^LLMCACHE_VALIDATION$/);
      await expectError(await post('/v1/cache/lookup', '{"prompt": "x", "threshold": "high"}'), 400, /^LLMCACHE_VALIDATION$/);
      await expectError(await post('/v1/cache/lookup', '{"prompt": "x", "threshold": 7}'), 400, /^LLMCACHE_VALIDATION$/);
      await expectError(await post('/v1/chat/completions', '{"model": "m"}'), 400, /^LLMCACHE_VALIDATION$/);
      await expectError(
        await post('/v1/cache/lookup', JSON.stringify({ prompt: 'x'.repeat(2_000_000) })),
        413,
        /^LLMCACHE_PAYLOAD_TOO_LARGE$/,
      );
      await expectError(await post('/v1/cache/lookup', 'prompt=x', 'text/plain'), 415, /^LLMCACHE_UNSUPPORTED_MEDIA_TYPE$/);
      await expectError(await fetch(`${cache.url}/v1/nowhere`), 404, /^LLMCACHE_NOT_FOUND$/);
      const deep = `{"prompt": "x", "params": ${'{"a": '.repeat(100)}1${'}'.repeat(100)}}`;
      await expectError(await post('/v1/cache/lookup', deep), 400, /^LLMCACHE_BAD_REQUEST$/);
      await expectError(await post('/v1/cache/lookup', '{"prompt": "x", "__proto__": {"polluted": true}}'), 400, /^LLMCACHE_BAD_REQUEST$/);
      await expectError(
        await fetch(`${cache.url}/v1/cache/entries/0123456789abcdef0123456789abcdef`, { method: 'DELETE' }),
        404,
        /^LLMCACHE_NOT_FOUND$/,
      );
      const health = await fetch(`${cache.url}/healthz`);
      assert.equal(health.status, 200);
      const lookup = await postJson(`${cache.url}/v1/cache/lookup`, { prompt: QUESTION });
      assert.equal(lookup.body.hit, true, 'the entry stored earlier is still there');
    });

    it("serves /v1/embeddings that the OpenAI embedder uses, with the local model's vectors", async () => {
      const texts = ['How do I reverse a list in Python?', 'The quick brown fox', 'Écrire en français'];
      const remote = await OpenAIEmbedder.create({ baseURL: `${cache.url}/v1`, model: 'local', maxBatchSize: 2 });
      const local = await OnnxEmbedder.create({ modelDir: await ensureModel({ dir: defaultModelDir(), fetch: false }) });
      try {
        assert.equal(remote.dimensions, 384);
        const [fromServer, fromModel] = await Promise.all([remote.embed(texts), local.embed(texts)]);
        assert.equal(fromServer.length, texts.length);
        fromServer.forEach((vector, i) => assert.ok(cosine(vector, fromModel[i] as Float32Array) > 0.9999, `text ${i}`));
      } finally {
        await remote.close();
        await local.close();
      }
    });

    it('expires an entry after its ttlSeconds, even before the evictor runs', async () => {
      const prompt = 'What is the current price of gold per ounce?';
      const stored = await postJson(`${cache.url}/v1/cache/entries?wait=true`, {
        prompt,
        response: 'about 2,000 dollars',
        ttlSeconds: 2,
        namespace: 'ttl',
      });
      assert.equal(stored.status, 201);
      assert.equal((await postJson(`${cache.url}/v1/cache/lookup`, { prompt, namespace: 'ttl' })).body.hit, true);
      assert.equal(
        (await postJson(`${cache.url}/v1/cache/lookup`, { prompt: 'What is the price of gold per ounce now?', namespace: 'ttl' })).body.hit,
        true,
      );
      await sleep(2200);
      assert.equal(
        (await postJson(`${cache.url}/v1/cache/lookup`, { prompt, namespace: 'ttl' })).body.hit,
        false,
        'the exact tier expires it too',
      );
      assert.equal(
        (await postJson(`${cache.url}/v1/cache/lookup`, { prompt: 'What is the price of gold per ounce now?', namespace: 'ttl' })).body.hit,
        false,
      );
    });

    it('matches a follow-up only within the same conversation', async () => {
      const conversation = (company: string, ceo: string) => [
        { role: 'user', content: `Who is the CEO of ${company}?` },
        { role: 'assistant', content: `${ceo} is the CEO of ${company}.` },
        { role: 'user', content: 'How old is he?' },
      ];
      const stored = await postJson(`${cache.url}/v1/cache/entries?wait=true`, {
        messages: conversation('Apple', 'Tim Cook'),
        response: 'Tim Cook was born in 1960.',
      });
      assert.equal(stored.status, 201);
      const same = await postJson(`${cache.url}/v1/cache/lookup`, { messages: conversation('Apple', 'Tim Cook') });
      assert.equal(same.body.hit, true, 'the same conversation hits');
      assert.equal(same.body.response, 'Tim Cook was born in 1960.');
      const other = await postJson(`${cache.url}/v1/cache/lookup`, { messages: conversation('Microsoft', 'Satya Nadella') });
      assert.equal(other.body.hit, false, 'the same follow-up after another person misses');
      const alone = await postJson(`${cache.url}/v1/cache/lookup`, { prompt: 'How old is he?' });
      assert.equal(alone.body.hit, false, 'the follow-up without its context misses');
    });

    it('stores only complete streamed answers: not a length-truncated or aborted one', async () => {
      const client = new OpenAI({ baseURL: `${cache.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      for (const finish of ['length', 'abort'] as const) {
        upstream.finish = finish;
        const question = `Write a long essay about the history of ${finish === 'length' ? 'tea' : 'coffee'}`;
        try {
          const stream = await client.chat.completions.create({
            model: 'gpt-test',
            messages: [{ role: 'user', content: question }],
            stream: true,
          });
          for await (const chunk of stream) void chunk;
        } catch {
          // the aborted upstream stream ends the response early; the client may see that as an error
        } finally {
          upstream.finish = 'stop';
        }
        await sleep(1500);
        const lookup = await postJson(`${cache.url}/v1/cache/lookup`, {
          messages: [{ role: 'user', content: question }],
          model: 'gpt-test',
        });
        assert.equal(lookup.body.hit, false, `a ${finish} answer is not stored`);
      }
    });

    it('honours Cache-Control and bypasses hot temperatures', async () => {
      const ask = (content: string, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}) =>
        postJson(`${cache.url}/v1/chat/completions`, { model: 'gpt-test', messages: [{ role: 'user', content }], ...extra }, headers);
      const noStore = await ask('Name a prime number larger than 100', { 'cache-control': 'no-store' });
      assert.equal(noStore.headers.get('x-llmcache'), 'miss');
      await sleep(1000);
      assert.equal((await ask('Name a prime number larger than 100')).headers.get('x-llmcache'), 'miss', 'no-store wrote nothing');
      await eventuallyHit(cache.url, { messages: [{ role: 'user', content: 'Name a prime number larger than 100' }], model: 'gpt-test' });
      assert.equal((await ask('Name a prime number larger than 100')).headers.get('x-llmcache'), 'hit');
      const calls = upstream.calls.length;
      const noCache = await ask('Name a prime number larger than 100', { 'cache-control': 'no-cache' });
      assert.equal(noCache.headers.get('x-llmcache'), 'bypass', 'no-cache skips the read');
      assert.equal(upstream.calls.length, calls + 1);
      const maxAge = await ask('Name a prime number larger than 100', { 'cache-control': 'max-age=0' });
      assert.equal(maxAge.headers.get('x-llmcache'), 'miss', 'max-age=0 ignores every stored entry');
      const hot = await ask('Invent a name for a dragon', {}, { temperature: 1.5 });
      assert.equal(hot.headers.get('x-llmcache'), 'bypass');
      await sleep(1000);
      assert.equal((await ask('Invent a name for a dragon', {}, { temperature: 1.5 })).headers.get('x-llmcache'), 'bypass');
      const lookup = await postJson(`${cache.url}/v1/cache/lookup`, {
        messages: [{ role: 'user', content: 'Invent a name for a dragon' }],
        model: 'gpt-test',
        params: { temperature: 1.5 },
      });
      assert.equal(lookup.body.hit, false, 'a bypassed answer is not stored');
    });

    it('takes the namespace and threshold of a chat request from its headers', async () => {
      const ask = (content: string, headers: Record<string, string>) =>
        postJson(`${cache.url}/v1/chat/completions`, { model: 'gpt-test', messages: [{ role: 'user', content }] }, headers);
      assert.equal((await ask('What is the tallest tree species?', { 'x-llmcache-namespace': 'trees' })).headers.get('x-llmcache'), 'miss');
      await eventuallyHit(cache.url, {
        messages: [{ role: 'user', content: 'What is the tallest tree species?' }],
        model: 'gpt-test',
        namespace: 'trees',
      });
      assert.equal((await ask('Which tree species is the tallest?', { 'x-llmcache-namespace': 'trees' })).headers.get('x-llmcache'), 'hit');
      const other = await postJson(`${cache.url}/v1/cache/lookup`, {
        messages: [{ role: 'user', content: 'What is the tallest tree species?' }],
        model: 'gpt-test',
      });
      assert.equal(other.body.hit, false, 'the entry lives in the namespace the header named');
      const strict = await ask('Which tree species is the tallest?', { 'x-llmcache-namespace': 'trees', 'x-llmcache-threshold': '0.999' });
      assert.equal(strict.headers.get('x-llmcache'), 'miss', 'the header threshold applies to this request');
      assert.equal((await ask('Which tree species is the tallest?', { 'x-llmcache-threshold': 'high' })).status, 400);
    });

    it('reports entries per namespace', async () => {
      const stats = (await (await fetch(`${cache.url}/v1/admin/stats`)).json()) as {
        namespaces: Array<{ namespace: string; entries: number }>;
        threshold: number;
      };
      const byName = new Map(stats.namespaces.map((n) => [n.namespace, n.entries]));
      assert.ok((byName.get('default') ?? 0) >= 2, JSON.stringify(stats));
      assert.equal(typeof stats.threshold, 'number');
    });

    describe('eviction at the limits', () => {
      let limited: CacheUnderTest;
      const store = (namespace: string, prompt: string, response = `answer to ${prompt}`) =>
        postJson(`${limited.url}/v1/cache/entries?wait=true`, { prompt, response, namespace });
      const hits = async (namespace: string, prompt: string): Promise<boolean> =>
        (await postJson(`${limited.url}/v1/cache/lookup`, { prompt, namespace })).body.hit as boolean;
      const PROMPTS = ['How do volcanoes form?', 'What is the recipe for pancakes?', 'Who invented the telephone?', 'Why is the sky blue?'];

      before(async () => {
        limited = await start({
          LLMCACHE_EVICTION_INTERVAL_MS: '300',
          LLMCACHE_EVICTION_POLICY: 'custom',
          LLMCACHE_EVICTION_MODULE: 'examples/largest-first-policy.ts',
          LLMCACHE_EVICTION_NAMESPACES: JSON.stringify({
            'lru-test': { maxEntries: 3, policy: 'lru' },
            'lfu-test': { maxEntries: 3, policy: 'lfu' },
            'custom-test': { maxEntries: 2 },
          }),
        });
      });
      after(async () => limited?.stop());

      it('LRU evicts the least recently used entry', async () => {
        for (const prompt of PROMPTS.slice(0, 3)) assert.equal((await store('lru-test', prompt)).status, 201);
        assert.equal(await hits('lru-test', PROMPTS[0] as string), true);
        await sleep(1500);
        assert.equal((await store('lru-test', PROMPTS[3] as string)).status, 201);
        await sleep(1500);
        assert.deepEqual(await Promise.all(PROMPTS.map((p) => hits('lru-test', p))), [true, false, true, true]);
      });

      it('LFU evicts the least frequently used entry', async () => {
        for (const prompt of PROMPTS.slice(0, 3)) assert.equal((await store('lfu-test', prompt)).status, 201);
        for (const prompt of [PROMPTS[0], PROMPTS[0], PROMPTS[1]] as string[]) assert.equal(await hits('lfu-test', prompt), true);
        await sleep(1500);
        assert.equal((await store('lfu-test', PROMPTS[3] as string)).status, 201);
        await sleep(1500);
        assert.deepEqual(await Promise.all(PROMPTS.map((p) => hits('lfu-test', p))), [true, true, false, true]);
      });

      it('a custom policy module is loaded and obeyed', async () => {
        assert.equal((await store('custom-test', PROMPTS[0] as string, 'short')).status, 201);
        assert.equal((await store('custom-test', PROMPTS[1] as string, 'long '.repeat(1000))).status, 201);
        assert.equal((await store('custom-test', PROMPTS[2] as string, 'medium '.repeat(50))).status, 201);
        await sleep(1500);
        assert.deepEqual(
          await Promise.all(PROMPTS.slice(0, 3).map((p) => hits('custom-test', p))),
          [true, false, true],
          'the largest answer went first',
        );
      });
    });

    it('exports, wipes and imports with the same hits as before', async () => {
      const probes = [PARAPHRASE, 'Who wrote Hamlet?', 'Explain how photosynthesis works in plants'];
      const lookupAll = () =>
        Promise.all(
          probes.map(
            async (prompt) =>
              (await postJson(`${cache.url}/v1/cache/lookup`, { prompt, model: prompt.startsWith('Explain') ? 'gpt-test' : undefined }))
                .body,
          ),
        );
      const before = await lookupAll();
      assert.ok(
        before.every((b) => b.hit),
        JSON.stringify(before),
      );
      const dir = mkdtempSync(join(tmpdir(), 'llm-cache-export-'));
      const file = join(dir, 'export.jsonl');
      const cli = (args: string[]) =>
        spawnSync(process.execPath, ['--import', 'tsx', 'apps/cli/src/main.ts', ...args], {
          cwd: REPO_ROOT,
          encoding: 'utf8',
          timeout: 120_000,
        });
      const exported = cli(['export', '--url', cache.url, '--out', file]);
      assert.equal(exported.status, 0, exported.stderr);
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      const header = JSON.parse(lines[0] as string) as { format: string; embeddingModels: string[] };
      assert.equal(header.format, 'llm-cache-export');
      assert.equal(header.embeddingModels.length, 1, 'the export names the embedding model');
      const stats = (await (await fetch(`${cache.url}/v1/admin/stats`)).json()) as {
        namespaces: Array<{ namespace: string; entries: number }>;
      };
      const total = stats.namespaces.reduce((sum, n) => sum + n.entries, 0);
      assert.equal(lines.length - 1, total, 'every entry is exported');
      for (const { namespace } of stats.namespaces) await postJson(`${cache.url}/v1/cache/purge`, { namespace });
      const wiped = await lookupAll();
      assert.ok(
        wiped.every((b) => !b.hit),
        'the wipe removed everything',
      );
      const imported = cli(['import', file, '--url', cache.url, '--batch', '5']);
      assert.equal(imported.status, 0, imported.stderr);
      assert.match(imported.stdout, new RegExp(`imported ${total} entries \\(${total} new`));
      assert.match(imported.stderr, /\[import\] \d+ entries stored/, 'import shows progress');
      const after = await lookupAll();
      assert.deepEqual(
        after.map((b) => [b.hit, b.id, b.response]),
        before.map((b) => [b.hit, b.id, b.response]),
      );
      rmSync(dir, { recursive: true, force: true });
    });

    it('keeps every entry across a restart', async () => {
      const prompts = ['What is the speed of light?', 'Who painted the Mona Lisa?', 'What is the largest ocean?'];
      for (const prompt of prompts) {
        const stored = await postJson(`${cache.url}/v1/cache/entries?wait=true`, {
          prompt,
          response: `answer: ${prompt}`,
          namespace: 'restart',
        });
        assert.equal(stored.status, 201);
      }
      await cache.restart();
      for (const prompt of [...prompts]) {
        const lookup = await postJson(`${cache.url}/v1/cache/lookup`, { prompt, namespace: 'restart' });
        assert.equal(lookup.body.hit, true, `${prompt} survives the restart`);
        assert.equal(lookup.body.response, `answer: ${prompt}`);
      }
      const original = await postJson(`${cache.url}/v1/cache/lookup`, { prompt: PARAPHRASE });
      assert.equal(original.body.hit, true);
    });

    it('never matches entries of another embedding model after the model changes', async () => {
      // An OpenAI-compatible embeddings endpoint serving the very same vectors: only the model's
      // fingerprint differs, so a miss proves the spaces are kept apart, not that vectors differ.
      const local = await OnnxEmbedder.create({ modelDir: await ensureModel({ dir: defaultModelDir(), fetch: false }) });
      const server = createServer(async (request, response) => {
        let body = '';
        for await (const chunk of request) body += chunk;
        const { input } = JSON.parse(body) as { input: string[] };
        const vectors = await local.embed(input);
        response.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            object: 'list',
            model: 'other',
            data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: Array.from(v) })),
            usage: { prompt_tokens: 1, total_tokens: 1 },
          }),
        );
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const embeddingsUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
      try {
        await cache.restart({
          LLMCACHE_EMBEDDING_PROVIDER: 'openai',
          LLMCACHE_EMBEDDING_BASE_URL: embeddingsUrl,
          LLMCACHE_EMBEDDING_MODEL: 'other-model',
        });
        assert.equal(
          (await postJson(`${cache.url}/v1/cache/lookup`, { prompt: QUESTION })).body.hit,
          false,
          'the old vector space is not searched',
        );
        assert.equal(
          (await postJson(`${cache.url}/v1/cache/entries?wait=true`, { prompt: 'A question for the new model', response: 'new space' }))
            .status,
          201,
        );
        assert.equal((await postJson(`${cache.url}/v1/cache/lookup`, { prompt: 'A question for the new model' })).body.hit, true);
        await cache.restart();
        assert.equal(
          (await postJson(`${cache.url}/v1/cache/lookup`, { prompt: PARAPHRASE })).body.hit,
          true,
          'back on the first model, its entries match again',
        );
        assert.equal(
          (await postJson(`${cache.url}/v1/cache/lookup`, { prompt: 'A question for the new model!' })).body.hit,
          false,
          "and the other model's do not",
        );
      } finally {
        server.close();
        await local.close();
      }
    });
  });
}
