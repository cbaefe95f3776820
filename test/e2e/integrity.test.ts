/**
 * The embedded server keeps its data whole: one server per data folder (a second is refused, a crashed
 * one leaves no stale lock), and no text is accepted that would come back different after a restart
 * (a lone UTF-16 surrogate, which SQLite's UTF-8 would turn into U+FFFD).
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { postJson, startCacheProcess, tempDir, type CacheProcess } from '../helpers/cache-process.ts';

/** Starts `llm-cache start` on a data folder, stopped (SIGKILL if still running) after the test. */
async function startOn(t: TestContext, dataDir: string): Promise<CacheProcess> {
  const cache = await startCacheProcess({ LLMCACHE_DATA_DIR: dataDir });
  t.after(() => cache.stop('SIGKILL'));
  return cache;
}

async function lookup(url: string, prompt: string): Promise<any> {
  const result = await postJson(`${url}/v1/cache/lookup`, { prompt });
  assert.equal(result.status, 200, JSON.stringify(result.body));
  return result.body;
}

/** Asserts the API's error shape with LLMCACHE_VALIDATION and a message naming the field. */
function assertRefused(result: { status: number; body: any }, field: string): void {
  assert.equal(result.status, 400, JSON.stringify(result.body));
  assert.deepEqual(Object.keys(result.body), ['error']);
  assert.equal(result.body.error.code, 'LLMCACHE_VALIDATION');
  assert.equal(typeof result.body.error.message, 'string');
  assert.ok(result.body.error.message.includes(`${field} holds a lone UTF-16 surrogate`), result.body.error.message);
}

describe('one server per data folder', () => {
  it('refuses a second server on a folder in use, and lets a new one start after the first is killed', async (t) => {
    const dataDir = tempDir(t);
    const first = await startOn(t, dataDir);
    const prompt = 'Which planet has the most moons?';
    const stored = await postJson(`${first.url}/v1/cache/entries?wait=true`, { prompt, response: 'Saturn' });
    assert.equal(stored.status, 201, JSON.stringify(stored.body));

    const second = await startCacheProcess({ LLMCACHE_DATA_DIR: dataDir }).then(
      (cache) => {
        t.after(() => cache.stop('SIGKILL'));
        return undefined;
      },
      (error: Error) => error.message,
    );
    assert.ok(second, 'a second server on the same data folder must not start');
    const exitCode = Number(/exited with (\d+) before listening/.exec(second)?.[1]);
    assert.ok(exitCode > 0, `the second server exits non-zero:\n${second}`);
    assert.ok(
      second.includes(`the data folder ${dataDir} is in use by another LLM-Cache process (pid ${first.child.pid},`),
      `the refusal names the folder and the pid holding it:\n${second}`,
    );

    const stillServing = await lookup(first.url, prompt);
    assert.equal(stillServing.hit, true);
    assert.equal(stillServing.response, 'Saturn');

    await first.stop('SIGKILL');
    const third = await startOn(t, dataDir);
    const afterCrash = await lookup(third.url, prompt);
    assert.equal(afterCrash.hit, true, 'the entry stored before the kill is served');
    assert.equal(afterCrash.id, stored.body.id);
    assert.equal(afterCrash.response, 'Saturn');
  });
});

describe('text is served exactly as stored', () => {
  it('refuses lone surrogates on every JSON route, and keeps well-formed non-BMP text identical across a restart', async (t) => {
    const dataDir = tempDir(t);
    let cache = await startOn(t, dataDir);
    const entries = `${cache.url}/v1/cache/entries?wait=true`;

    // JSON.stringify writes a lone surrogate as the escape `\ud800`, which is how a client sends one.
    assertRefused(await postJson(entries, { prompt: 'What is \ud800?', response: 'nothing' }), 'body.prompt');
    assertRefused(await postJson(entries, { prompt: 'What is it?', response: 'a reversed pair \udc00\ud800' }), 'body.response');
    const raw = await fetch(entries, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"prompt": "What is it?", "response": "ok", "params": {"x": ["\\udfff"]}}',
    });
    assertRefused({ status: raw.status, body: await raw.json() }, 'body.params.x[0]');
    assertRefused(await postJson(entries, { prompt: 'What is it?', response: 'ok', params: { '\ud800': 1 } }), 'a key of body.params');
    assertRefused(await postJson(`${cache.url}/v1/cache/lookup`, { prompt: 'What is \udbff?' }), 'body.prompt');
    assertRefused(
      await postJson(`${cache.url}/v1/chat/completions`, { model: 'gpt-test', messages: [{ role: 'user', content: 'Hi \ud83d' }] }),
      'body.messages[0].content',
    );

    const prompt = 'What does the crab 🦀 stand for in 𝕽𝖚𝖘𝖙?';
    const response = 'Ferris 🦀, the mascot of Rust 👩🏽‍💻 — ∀x∈ℝ';
    const stored = await postJson(entries, { prompt, response });
    assert.equal(stored.status, 201, JSON.stringify(stored.body));
    assert.equal((await lookup(cache.url, prompt)).response, response);

    // An import line is checked as a JSON body is.
    const exported = await (await fetch(`${cache.url}/v1/admin/export`)).text();
    const line = exported.split('\n').find((text) => text.includes('"prompt"'));
    assert.ok(line, exported);
    const imported = await fetch(`${cache.url}/v1/admin/import`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: `${line.replace('"prompt":"', '"prompt":"\\ud800')}\n`,
    });
    const importBody = (await imported.json()) as any;
    assertRefused({ status: imported.status, body: importBody }, 'entry.prompt');
    assert.match(importBody.error.message, /^line 1: /);

    assert.equal(await cache.stop(), 0);
    cache = await startOn(t, dataDir);
    const afterRestart = await lookup(cache.url, prompt);
    assert.equal(afterRestart.hit, true);
    assert.equal(afterRestart.id, stored.body.id);
    assert.equal(afterRestart.response, response, 'the answer is byte for byte what was stored');
    assert.equal((await lookup(cache.url, 'What is \ufffd?')).hit, false, 'nothing refused was stored in another form');
  });
});
