import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { postJson, startCacheProcess, tempDir, type CacheProcess } from '../helpers/cache-process.ts';
import { longContext } from './long-prompts.ts';

/**
 * The OpenAI embedder reads more than the local model (8,191 tokens), but not everything: a prompt
 * past its window is split like any other (docs/cache-rules.md, "Long prompts"). The OpenAI-compatible
 * embeddings server here is a second LLM-Cache's own /v1/embeddings.
 */
describe('long prompts with the OpenAI embedder', () => {
  let embeddings: CacheProcess;
  let cache: CacheProcess;

  before(async () => {
    const dataDir = (): string => tempDir({ after: (fn) => process.once('exit', fn) });
    embeddings = await startCacheProcess({ LLMCACHE_DATA_DIR: dataDir() });
    cache = await startCacheProcess({
      LLMCACHE_DATA_DIR: dataDir(),
      LLMCACHE_EMBEDDING_PROVIDER: 'openai',
      LLMCACHE_EMBEDDING_BASE_URL: `${embeddings.url}/v1`,
      LLMCACHE_EMBEDDING_MODEL: 'all-minilm-l6-v2',
    });
  });

  after(async () => {
    await cache?.stop();
    await embeddings?.stop();
  });

  it('refuses an embeddings input longer than the model reads, as OpenAI does, instead of cutting it', async () => {
    const refused = await postJson(`${embeddings.url}/v1/embeddings`, { input: longContext('Acme Corporation', 10) });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.code, 'LLMCACHE_VALIDATION');
    assert.match(refused.body.error.message, /window of 128 tokens/);
    const batch = await postJson(`${embeddings.url}/v1/embeddings`, { input: ['short', longContext('Acme Corporation', 10)] });
    assert.equal(batch.status, 400);
    assert.match(batch.body.error.message, /input\[1\]/);
  });

  it('matches a prompt past the 8,191-token window on its question and on the exact context before it', async () => {
    const acme = longContext('Acme Corporation', 120);
    const globex = longContext('Globex Industries', 120);
    assert.ok(Buffer.byteLength(acme) > 8_191, 'the context alone is past the window');
    const stored = await postJson(`${cache.url}/v1/cache/entries?wait=true`, {
      prompt: `${acme}\nWhat was the total revenue?`,
      response: 'Acme revenue: 12 million',
    });
    assert.equal(stored.status, 201, `${JSON.stringify(stored.body)}\n${cache.output()}`);
    const lookup = async (prompt: string) => (await postJson(`${cache.url}/v1/cache/lookup`, { prompt })).body;
    const paraphrase = await lookup(`${acme}\nHow much revenue was there in total?`);
    assert.equal(paraphrase.hit, true, JSON.stringify(paraphrase));
    assert.equal(paraphrase.response, 'Acme revenue: 12 million');
    assert.equal((await lookup(`${acme}\nWho is the head of hiring?`)).hit, false, 'another question misses');
    assert.equal((await lookup(`${globex}\nWhat was the total revenue?`)).hit, false, 'another context misses');
  });
});
