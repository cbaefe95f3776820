import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { CacheError } from '@llm-cache/core';
import { MAX_TOKENS, OnnxEmbedder, TOKENIZER_FILE, cosine, defaultModelDir, ensureModel } from '../src/index.ts';

const REVERSE = 'How do I reverse a list in Python?';
const PARAPHRASE = "What's the way to reverse a Python list?";
const FRANCE = 'What is the capital of France?';

function norm(v: Float32Array): number {
  return Math.sqrt(cosine(v, v));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let k = 0; k < a.length; k += 1) max = Math.max(max, Math.abs((a[k] as number) - (b[k] as number)));
  return max;
}

describe('OnnxEmbedder', () => {
  let modelDir: string;
  let embedder: OnnxEmbedder;

  before(async () => {
    // The first run downloads the model with Maven (progress on stderr).
    modelDir = await ensureModel({ dir: defaultModelDir(), fetch: true, log: (line) => console.error(line) });
    embedder = await OnnxEmbedder.create({ modelDir });
  });
  after(async () => {
    await embedder?.close();
  });

  it('produces 384-dimensional unit vectors and a content-derived fingerprint', async () => {
    assert.equal(embedder.dimensions, 384);
    assert.match(embedder.fingerprint, /^onnx:all-minilm-l6-v2-q:[0-9a-f]{12}$/);
    const vectors = await embedder.embed([REVERSE, 'hello', 'Ünïcödé and emoji 🎉 text']);
    assert.equal(vectors.length, 3);
    for (const v of vectors) {
      assert.ok(v instanceof Float32Array);
      assert.equal(v.length, 384);
      assert.ok(Math.abs(norm(v) - 1) < 1e-5, `norm ${norm(v)}`);
    }
    assert.deepEqual(await embedder.embed([]), []);
  });

  it('places paraphrases close together and unrelated questions far apart', async () => {
    const [a, b, c] = (await embedder.embed([REVERSE, PARAPHRASE, FRANCE])) as [Float32Array, Float32Array, Float32Array];
    const similar = cosine(a, b);
    const unrelated = cosine(a, c);
    console.error(`cosine paraphrase=${similar.toFixed(4)} unrelated=${unrelated.toFixed(4)}`);
    assert.ok(similar > 0.9, `paraphrase cosine ${similar}`); // observed ~0.97
    assert.ok(unrelated < 0.2, `unrelated cosine ${unrelated}`); // observed ~0.06
  });

  it('gives 50 concurrent calls the same vectors as one-at-a-time calls', async () => {
    const texts = Array.from(
      { length: 50 },
      (_, i) => `Question ${i}: how to ${['sort', 'parse', 'cache'][i % 3]} data${' in a hurry'.repeat(i % 6)}?`,
    );
    const solo: Float32Array[] = [];
    let started = performance.now();
    for (const text of texts) solo.push(...(await embedder.embed([text])));
    const soloMs = performance.now() - started;
    started = performance.now();
    const together = await Promise.all(texts.map((text) => embedder.embed([text])));
    const togetherMs = performance.now() - started;
    console.error(`50 texts: sequential ${(50000 / soloMs).toFixed(0)}/s, concurrent ${(50000 / togetherMs).toFixed(0)}/s`);
    together.forEach(([v], i) => assert.ok(maxAbsDiff(v as Float32Array, solo[i] as Float32Array) < 1e-4, `text ${i}`));
  });

  it('with padBatches, one padded run per batch stays close to the solo vectors', async () => {
    const padded = await OnnxEmbedder.create({ modelDir, padBatches: true, maxBatchSize: 16 });
    try {
      const texts = Array.from({ length: 40 }, (_, i) => `${i % 2 ? FRANCE : REVERSE} ${'variant '.repeat(i % 9)}`);
      const solo = await embedder.embed(texts);
      const batched = await Promise.all(texts.map((text) => padded.embed([text])));
      batched.forEach(([v], i) => assert.ok(cosine(v as Float32Array, solo[i] as Float32Array) > 0.95, `text ${i}`));
    } finally {
      await padded.close();
    }
  });

  it('truncates a 5000-word text to 128 tokens instead of failing', async () => {
    const words = Array.from({ length: 5000 }, (_, i) => ['alpha', 'beta', 'gamma', 'delta', 'omega'][i % 5] + String(i % 7));
    const long = words.join(' ');
    const ids = embedder.tokenize(long);
    assert.equal(ids.length, MAX_TOKENS);
    assert.equal(ids[0], 101);
    assert.equal(ids[MAX_TOKENS - 1], 102);
    const [full, prefix] = (await embedder.embed([long, words.slice(0, 300).join(' ')])) as [Float32Array, Float32Array];
    assert.ok(Math.abs(norm(full) - 1) < 1e-5);
    assert.ok(maxAbsDiff(full, prefix) < 1e-6, 'only the first 128 tokens count');
  });

  it('truncates exactly like tokenizing everything then cutting', () => {
    const tokenizer = new Tokenizer(JSON.parse(readFileSync(join(modelDir, TOKENIZER_FILE), 'utf8')), {});
    const reference = (text: string): number[] => {
      const ids = tokenizer.encode(text).ids;
      return ids.length <= MAX_TOKENS ? ids : [...ids.slice(0, MAX_TOKENS - 1), 102];
    };
    const texts = [
      '',
      'short text',
      'word '.repeat(126),
      'word '.repeat(127),
      `${'x'.repeat(3000)} then words ${'more '.repeat(200)}`,
      `lead ${' '.repeat(9000)}${'tail, '.repeat(300)}`,
      'supercalifragilistic'.repeat(400),
      `${'punctuation!?'.repeat(800)} end`,
    ];
    for (const text of texts) assert.deepEqual(embedder.tokenize(text), reference(text), text.slice(0, 30));
  });

  it("measures texts against the window with the model's own tokenizer, and names the words it cannot read", () => {
    const tokenizer = new Tokenizer(JSON.parse(readFileSync(join(modelDir, TOKENIZER_FILE), 'utf8')), {});
    const window = embedder.window;
    assert.equal(window.maxTokens, MAX_TOKENS);
    const texts = [
      'short text',
      'word '.repeat(126).trim(),
      'word '.repeat(127).trim(),
      '안녕하세요 '.repeat(12).trim(), // Hangul syllables make three tokens each: short, and still too long
      '1.2.3.4.5.6.7.8.9.'.repeat(8),
      `${'x'.repeat(1000)} then words`, // one unknown token for the long word: it fits
    ];
    for (const text of texts) assert.equal(window.fits(text), tokenizer.encode(text).ids.length <= MAX_TOKENS, text.slice(0, 30));
    // Past 12 characters a token nothing is taken to fit, even what tokenizes short: the safe side.
    const long = `${'x'.repeat(3000)} then words`;
    assert.ok(tokenizer.encode(long).ids.length <= MAX_TOKENS);
    assert.equal(window.fits(long), false);
    assert.deepEqual(window.unseen('How do I reverse a list?'), []);
    assert.deepEqual(window.unseen('Translate 😀 into words.'), ['😀']);
    assert.deepEqual(window.unseen(`hash ${'ab'.repeat(60)} please`), ['ab'.repeat(60)], 'a word over 100 characters reads as unknown');
  });

  it('embeds the empty string', async () => {
    const [v] = (await embedder.embed([''])) as [Float32Array];
    assert.equal(v.length, 384);
    assert.ok(v.every(Number.isFinite));
    assert.ok(Math.abs(norm(v) - 1) < 1e-5);
  });

  it('refuses to load from a directory without the model, and to embed after close', async () => {
    await assert.rejects(
      OnnxEmbedder.create({ modelDir: join(modelDir, 'does-not-exist') }),
      (e: unknown) => e instanceof CacheError && e.code === 'LLMCACHE_MODEL_MISSING',
    );
    const other = await OnnxEmbedder.create({ modelDir });
    await other.close();
    await assert.rejects(other.embed(['x']), (e: unknown) => e instanceof CacheError && e.code === 'LLMCACHE_EMBEDDING');
  });
});
