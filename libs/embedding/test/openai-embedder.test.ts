import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CacheError } from '@llm-cache/core';
import { OnnxEmbedder, OpenAIEmbedder, cosine, defaultModelDir, ensureModel } from '../src/index.ts';

const API_KEY = 'sk-test-secret-key-1234';

/**
 * A minimal OpenAI-compatible POST /v1/embeddings backed by an OnnxEmbedder. It returns vectors
 * scaled by 3 (the client must normalize) and echoes the Authorization header in its errors
 * (the client must not leak it). Inputs containing "FAIL" get a 500.
 */
function startServer(onnx: OnnxEmbedder, requests: number[]): Promise<Server> {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || req.url !== '/v1/embeddings') return send(404, { error: { message: 'not found' } });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      model: string;
      input: string | string[];
      encoding_format?: string;
    };
    const input = typeof body.input === 'string' ? [body.input] : body.input;
    requests.push(input.length);
    if (req.headers.authorization !== `Bearer ${API_KEY}`) return send(401, { error: { message: 'bad key' } });
    if (input.some((text) => text.includes('FAIL'))) {
      return send(500, { error: { message: `exploded (auth was ${req.headers.authorization})` } });
    }
    const vectors = await onnx.embed(input);
    send(200, {
      object: 'list',
      model: body.model,
      // Shuffled order with explicit indexes, as the spec allows.
      data: vectors
        .map((v, index) => {
          const scaled = Array.from(v, (x) => x * 3);
          const embedding = body.encoding_format === 'base64' ? Buffer.from(new Float32Array(scaled).buffer).toString('base64') : scaled;
          return { object: 'embedding', index, embedding };
        })
        .reverse(),
      usage: { prompt_tokens: 0, total_tokens: 0 },
    });
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => res.writeHead(500).end(String(error)));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('OpenAIEmbedder against a local OpenAI-compatible server', () => {
  let onnx: OnnxEmbedder;
  let server: Server;
  let baseURL: string;
  const requests: number[] = [];

  before(async () => {
    const modelDir = await ensureModel({ dir: defaultModelDir(), fetch: true, log: (line) => console.error(line) });
    onnx = await OnnxEmbedder.create({ modelDir });
    server = await startServer(onnx, requests);
    baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  after(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await onnx?.close();
  });

  it('probes the dimensions and derives the fingerprint from endpoint, model and size', async () => {
    const embedder = await OpenAIEmbedder.create({ baseURL: `${baseURL}/`, model: 'mini', apiKey: API_KEY });
    try {
      assert.equal(embedder.dimensions, 384);
      const port = (server.address() as AddressInfo).port;
      assert.equal(embedder.fingerprint, `openai:127.0.0.1:${port}/v1:mini:384`);
    } finally {
      await embedder.close();
    }
  });

  it('returns the ONNX vectors, normalized, batching concurrent calls into fewer requests', async () => {
    const embedder = await OpenAIEmbedder.create({ baseURL, model: 'mini', apiKey: API_KEY, dimensions: 384, maxBatchSize: 16 });
    try {
      const texts = Array.from({ length: 40 }, (_, i) => `text number ${i} about ${i % 2 ? 'lists' : 'capitals'}`);
      const expected = await onnx.embed(texts);
      requests.length = 0;
      const results = await Promise.all(texts.map((text) => embedder.embed([text])));
      console.error(`40 concurrent embed calls -> ${requests.length} HTTP requests of sizes ${requests.join(',')}`);
      assert.ok(requests.length < texts.length, `${requests.length} requests for ${texts.length} texts`);
      assert.ok(
        requests.every((n) => n <= 16),
        `request sizes ${requests}`,
      );
      results.forEach(([v], i) => {
        assert.equal(v?.length, 384);
        assert.ok(Math.abs(cosine(v as Float32Array, v as Float32Array) - 1) < 1e-5, 'unit norm');
        const e = expected[i] as Float32Array;
        for (let k = 0; k < 384; k += 1) assert.ok(Math.abs((v as Float32Array)[k]! - e[k]!) < 1e-5, `text ${i} dim ${k}`);
      });
      const many = await embedder.embed(texts);
      many.forEach((v, i) => assert.ok(cosine(v, expected[i] as Float32Array) > 0.99999));
    } finally {
      await embedder.close();
    }
  });

  it('turns server failures into retryable LLMCACHE_EMBEDDING errors without the API key', async () => {
    const embedder = await OpenAIEmbedder.create({ baseURL, model: 'mini', apiKey: API_KEY, dimensions: 384, maxRetries: 0 });
    try {
      const [bad, good] = await Promise.allSettled([embedder.embed(['please FAIL']), embedder.embed(['fine'])]);
      // Both went in one request, so both fail: the batch is the unit of failure.
      for (const result of [bad, good]) {
        assert.equal(result?.status, 'rejected');
        const error = (result as PromiseRejectedResult).reason as unknown;
        assert.ok(error instanceof CacheError && error.code === 'LLMCACHE_EMBEDDING' && error.retryable);
        assert.match(error.message, /HTTP 500/);
        assert.match(error.message, /exploded/, 'the server message is kept');
        assert.ok(!error.message.includes(API_KEY), error.message);
      }
      assert.equal((await embedder.embed(['fine again']))[0]?.length, 384);
    } finally {
      await embedder.close();
    }
  });

  it('rejects a dimension mismatch (not retryable) and an unreachable server (retryable)', async () => {
    const wrong = await OpenAIEmbedder.create({ baseURL, model: 'mini', apiKey: API_KEY, dimensions: 128 });
    await assert.rejects(wrong.embed(['x']), (e: unknown) => e instanceof CacheError && e.code === 'LLMCACHE_EMBEDDING' && !e.retryable);
    await wrong.close();
    await assert.rejects(
      OpenAIEmbedder.create({ baseURL: 'http://127.0.0.1:9/v1', model: 'mini', apiKey: API_KEY, maxRetries: 0, timeoutMs: 2000 }),
      (e: unknown) => e instanceof CacheError && e.code === 'LLMCACHE_EMBEDDING' && e.retryable,
    );
  });
});
