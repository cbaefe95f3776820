import assert from 'node:assert/strict';
import { describe, it, before, after } from 'node:test';
import OpenAI from 'openai';
import { cosine, defaultModelDir, ensureModel, OnnxEmbedder, OpenAIEmbedder } from '@llm-cache/embedding';
import { postJson } from '../helpers/cache-process.ts';
import { startUpstreamStandIn, type UpstreamStandIn } from '../helpers/upstream-stand-in.ts';

/** A running LLM-Cache, in whichever mode, as the scenarios see it. */
export interface CacheUnderTest {
  url: string;
  /** Stops every process and starts them again on the same data. */
  restart(): Promise<void>;
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
      let chunks = 0;
      for await (const chunk of first.data) {
        streamed += chunk.choices[0]?.delta?.content ?? '';
        chunks++;
      }
      assert.ok(chunks > 3, 'the miss arrived in several chunks');
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
  });
}
