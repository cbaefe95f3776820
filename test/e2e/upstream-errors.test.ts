import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { postJson, startCacheProcess, tempDir, type CacheProcess } from '../helpers/cache-process.ts';
import { startUpstreamStandIn, type StandInFault, type UpstreamStandIn } from '../helpers/upstream-stand-in.ts';

const TIMEOUT_MS = 1500;
const MODEL = 'gpt-test';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface SseResult {
  status: number;
  headers: Headers;
  /** The data of every event, in order. */
  events: string[];
  /** The whole body as JSON, when the answer was not a stream. */
  json: any;
}

/** Posts a chat request with plain fetch and reads the answer to its end, stream or not. */
async function chat(url: string, question: string, stream: boolean, headers: Record<string, string> = {}): Promise<SseResult> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: question }], ...(stream ? { stream: true } : {}) }),
  });
  const text = await response.text().catch(() => '');
  const isStream = response.headers.get('content-type')?.startsWith('text/event-stream') ?? false;
  const events = isStream
    ? text
        .split('\n\n')
        .filter((block) => block.startsWith('data: '))
        .map((block) => block.slice('data: '.length))
    : [];
  return { status: response.status, headers: response.headers, events, json: isStream || text === '' ? null : JSON.parse(text) };
}

/** A port on which nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('upstream errors on POST /v1/chat/completions', () => {
  const upstreamKey = `sk-upstream-${randomBytes(12).toString('hex')}`;
  const cleanups: Array<() => Promise<void> | void> = [];
  let upstream: UpstreamStandIn;
  let cache: CacheProcess;
  /** Questions whose request failed: none may be stored. */
  const failed: Array<{ question: string; stream: boolean }> = [];

  before(async () => {
    upstream = await startUpstreamStandIn({ after: (fn: () => Promise<void>) => void cleanups.push(fn) });
    const dataDir = tempDir({ after: (fn) => void cleanups.push(fn) });
    cache = await startCacheProcess({
      LLMCACHE_DATA_DIR: dataDir,
      LLMCACHE_UPSTREAM_BASE_URL: upstream.url,
      LLMCACHE_UPSTREAM_API_KEY: upstreamKey,
      LLMCACHE_UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS),
    });
  });

  after(async () => {
    await cache?.stop();
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  /** Sends one request that the stand-in answers with `fault`; checks it reached the upstream once. */
  const failing = async (fault: StandInFault, question: string, stream: boolean): Promise<SseResult> => {
    const calls = upstream.calls.length;
    upstream.faults.push(fault);
    const result = await chat(cache.url, question, stream);
    assert.equal(upstream.calls.length, calls + 1, 'one upstream call');
    assert.equal(upstream.faults.length, 0, 'the fault was used');
    failed.push({ question, stream });
    return result;
  };

  const assertErrorShape = (body: any): void => {
    assert.equal(typeof body?.error?.code, 'string', JSON.stringify(body));
    assert.equal(typeof body?.error?.message, 'string', JSON.stringify(body));
    assert.doesNotMatch(JSON.stringify(body), new RegExp(upstreamKey), 'the upstream key never reaches the client');
  };

  it("keeps the status of an upstream 401 to the gateway's own key, with a message of its own that quotes no part of the key", async () => {
    const masked = `${upstreamKey.slice(0, 8)}************${upstreamKey.slice(-4)}`;
    const result = await failing(
      {
        kind: 'reply',
        status: 401,
        body: {
          error: {
            message: `Incorrect API key provided: ${masked}. You can find your API key at the provider.`,
            type: 'invalid_request_error',
            param: null,
            code: 'invalid_api_key',
          },
        },
      },
      'Which river flows through Vienna?',
      false,
    );
    assert.equal(result.status, 401);
    assertErrorShape(result.json);
    assert.equal(result.json.error.code, 'LLMCACHE_UPSTREAM_REJECTED', 'the caller is told it is the gateway credentials, not its own');
    assert.match(result.json.error.message, /refused the gateway's own credentials \(HTTP 401\)/);
    assert.doesNotMatch(JSON.stringify(result.json), new RegExp(upstreamKey.slice(-4)), 'not even the masked key');
  });

  it('passes an upstream 400 through with its status and error object', async () => {
    const result = await failing(
      {
        kind: 'reply',
        status: 400,
        body: {
          error: { message: "'messages' must contain at least one message.", type: 'invalid_request_error', param: 'messages', code: null },
        },
      },
      'Which river flows through Budapest?',
      false,
    );
    assert.equal(result.status, 400);
    assertErrorShape(result.json);
    assert.equal(result.json.error.code, 'LLMCACHE_UPSTREAM_REJECTED', 'a null code becomes ours');
    assert.equal(result.json.error.type, 'invalid_request_error');
    assert.equal(result.json.error.param, 'messages');
    assert.equal(result.json.error.message, "'messages' must contain at least one message.");
  });

  it('passes an upstream 429 through with its Retry-After header', async () => {
    for (const stream of [false, true]) {
      const result = await failing(
        {
          kind: 'reply',
          status: 429,
          headers: { 'retry-after': '7' },
          body: { error: { message: 'Rate limit reached for requests', type: 'requests', param: null, code: 'rate_limit_exceeded' } },
        },
        `How tall is Mount Kilimanjaro${stream ? ' in feet' : ''}?`,
        stream,
      );
      assert.equal(result.status, 429, `stream: ${stream}`);
      assert.equal(result.headers.get('retry-after'), '7');
      assertErrorShape(result.json);
      assert.equal(result.json.error.code, 'rate_limit_exceeded');
      assert.equal(result.json.error.type, 'requests');
    }
  });

  it('fills in the code of an upstream 4xx that has none, and keeps a non-JSON message', async () => {
    const nullCode = await failing(
      {
        kind: 'reply',
        status: 400,
        body: {
          error: { message: 'Unrecognized request argument supplied: foo', type: 'invalid_request_error', param: 'foo', code: null },
        },
      },
      'What is the chemical symbol of tungsten?',
      false,
    );
    assert.equal(nullCode.status, 400);
    assertErrorShape(nullCode.json);
    assert.equal(nullCode.json.error.code, 'LLMCACHE_UPSTREAM_REJECTED');
    assert.equal(nullCode.json.error.param, 'foo');
    assert.equal(nullCode.json.error.message, 'Unrecognized request argument supplied: foo');

    const plain = await failing(
      { kind: 'reply', status: 409, headers: { 'content-type': 'text/plain' }, body: 'Conflict reported by the proxy' },
      'Who painted The Night Watch?',
      false,
    );
    assert.equal(plain.status, 409);
    assertErrorShape(plain.json);
    assert.equal(plain.json.error.code, 'LLMCACHE_UPSTREAM_REJECTED');
    assert.match(plain.json.error.message, /Conflict reported by the proxy/);
  });

  it('answers 502 for a 200 that is not a completion and for an upstream 5xx', async () => {
    const cases: Array<[StandInFault, string]> = [
      [{ kind: 'reply', status: 200, body: { hello: 'world' } }, 'How many moons does Mars have?'],
      [
        { kind: 'reply', status: 200, headers: { 'content-type': 'text/plain' }, body: 'not a completion' },
        'What language is spoken in Brazil?',
      ],
      [{ kind: 'reply', status: 200, body: '{"choices": [' }, 'What is the melting point of gold?'],
      [
        { kind: 'reply', status: 500, body: { error: { message: 'The server had an error', type: 'server_error', code: null } } },
        'Who discovered penicillin?',
      ],
      [{ kind: 'reply', status: 503, body: 'upstream unavailable' }, 'What is the largest desert on Earth?'],
    ];
    for (const [fault, question] of cases) {
      const result = await failing(fault, question, false);
      assert.equal(result.status, 502, `${JSON.stringify(fault)}: ${JSON.stringify(result.json)}`);
      assertErrorShape(result.json);
      assert.equal(result.json.error.code, 'LLMCACHE_UPSTREAM');
    }
  });

  it('answers 504 for an upstream that stays silent, streamed or not', async () => {
    for (const stream of [false, true]) {
      const started = Date.now();
      const result = await failing({ kind: 'hang' }, `How deep is the Mariana Trench${stream ? ' in metres' : ''}?`, stream);
      assert.equal(result.status, 504, JSON.stringify(result.json));
      assertErrorShape(result.json);
      assert.equal(result.json.error.code, 'LLMCACHE_UPSTREAM_TIMEOUT');
      assert.ok(Date.now() - started >= TIMEOUT_MS - 100, 'not before upstream.timeoutMs');
    }
  });

  it('answers a JSON 502 for a stream that fails before its first chunk: only [DONE], or an error event', async () => {
    for (const [fault, question] of [
      [{ kind: 'done-only' }, 'What is the capital of Mongolia?'],
      [{ kind: 'stream', chunks: 0, end: 'error-event' }, 'What is the speed of sound in water?'],
    ] as Array<[StandInFault, string]>) {
      const result = await failing(fault, question, true);
      assert.equal(result.status, 502, JSON.stringify(fault));
      assert.match(result.headers.get('content-type') ?? '', /^application\/json/);
      assertErrorShape(result.json);
      assert.equal(result.json.error.code, 'LLMCACHE_UPSTREAM');
    }
  });

  it('ends a stream that breaks after its first chunk with an error event and no [DONE]', async () => {
    const cases: Array<[StandInFault, string, string]> = [
      [{ kind: 'stream', chunks: 3, end: 'cut' }, 'Explain how a rainbow forms', 'LLMCACHE_UPSTREAM'],
      [{ kind: 'stream', chunks: 3, end: 'error-event' }, 'Explain how tides work', 'LLMCACHE_UPSTREAM'],
      [{ kind: 'stream', chunks: 3, end: 'no-finish' }, 'Explain how vaccines work', 'LLMCACHE_UPSTREAM'],
      [{ kind: 'stream', chunks: 3, end: 'stall' }, 'Explain how glaciers move', 'LLMCACHE_UPSTREAM_TIMEOUT'],
    ];
    for (const [fault, question, code] of cases) {
      const result = await failing(fault, question, true);
      assert.equal(result.status, 200, JSON.stringify(fault));
      assert.equal(result.headers.get('x-llmcache'), 'miss');
      assert.equal(result.events.length, 4, `three chunks and the error: ${JSON.stringify(result.events)}`);
      assert.equal(JSON.parse(result.events[0]!).object, 'chat.completion.chunk');
      assert.ok(!result.events.includes('[DONE]'), 'a broken stream does not end cleanly');
      const last = JSON.parse(result.events.at(-1)!);
      assertErrorShape(last);
      assert.equal(last.error.code, code, JSON.stringify(fault));
    }
  });

  it('the openai client does not retry a passed-through 401, and sees a broken stream as an error', async () => {
    const client = new OpenAI({ baseURL: `${cache.url}/v1`, apiKey: 'unused' }); // its default: 2 retries
    const calls = upstream.calls.length;
    upstream.faults.push({
      kind: 'reply',
      status: 401,
      body: {
        error: {
          message: 'Incorrect API key provided: sk-abc***xyz.',
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        },
      },
    });
    const question = 'Which planet has the most moons?';
    await assert.rejects(
      client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: question }] }),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.AuthenticationError, String(error));
        assert.equal(error.status, 401);
        assert.equal(error.code, 'LLMCACHE_UPSTREAM_REJECTED', "the gateway's own key was refused, not the caller's");
        return true;
      },
    );
    assert.equal(upstream.calls.length, calls + 1, 'the provider was asked once, not again and again');
    failed.push({ question, stream: false });

    upstream.faults.push({ kind: 'stream', chunks: 2, end: 'cut' });
    const broken = 'Describe the water cycle';
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: broken }], stream: true });
    let chunks = 0;
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) chunks += chunk.choices.length;
      })(),
      (error: unknown) => error instanceof OpenAI.APIError && (error.error as { code?: string }).code === 'LLMCACHE_UPSTREAM',
    );
    assert.equal(chunks, 2);
    failed.push({ question: broken, stream: true });
  });

  it('stores none of the failed answers: the same requests later miss and go upstream', async () => {
    // A good answer stored after all the failures: once it is visible, theirs would be too.
    const control = 'Name the longest river in South America';
    assert.equal((await chat(cache.url, control, false)).status, 200);
    const deadline = Date.now() + 10_000;
    while (!(await postJson(`${cache.url}/v1/cache/lookup`, { messages: [{ role: 'user', content: control }], model: MODEL })).body.hit) {
      assert.ok(Date.now() < deadline, 'the control answer is stored');
      await sleep(100);
    }
    assert.ok(failed.length >= 20, `${failed.length} failed requests`);
    for (const { question } of failed) {
      const lookup = await postJson(`${cache.url}/v1/cache/lookup`, { messages: [{ role: 'user', content: question }], model: MODEL });
      assert.equal(lookup.body.hit, false, `nothing stored for "${question}"`);
    }
    // no-store: these answers must not hit one another (some questions are close paraphrases).
    for (const { question, stream } of failed) {
      const calls = upstream.calls.length;
      const again = await chat(cache.url, question, stream, { 'cache-control': 'no-store' });
      assert.equal(again.status, 200, question);
      assert.equal(again.headers.get('x-llmcache'), 'miss', question);
      assert.equal(upstream.calls.length, calls + 1, `"${question}" went upstream again`);
      if (stream) assert.equal(again.events.at(-1), '[DONE]');
    }
  });

  it('answers 502 when the upstream refuses the connection', async (t) => {
    const refused = await startCacheProcess({
      LLMCACHE_DATA_DIR: tempDir(t),
      LLMCACHE_UPSTREAM_BASE_URL: `http://127.0.0.1:${await closedPort()}/v1`,
      LLMCACHE_UPSTREAM_API_KEY: upstreamKey,
    });
    t.after(() => refused.stop());
    for (const stream of [false, true]) {
      const result = await chat(refused.url, 'What is the capital of Chile?', stream);
      assert.equal(result.status, 502, `stream: ${stream}`);
      assertErrorShape(result.json);
      assert.equal(result.json.error.code, 'LLMCACHE_UPSTREAM');
      assert.match(result.json.error.message, /no connection/);
    }
  });
});
