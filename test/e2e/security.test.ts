import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { describe, it } from 'node:test';
import { encryptSecret, generateSecretKey, parseSecretKey } from '@llm-cache/config';
import { selfSignedCertificate } from '@llm-cache/testing';
import { postJson, REPO_ROOT, startCacheProcess, tempDir } from '../helpers/cache-process.ts';
import { startUpstreamStandIn } from '../helpers/upstream-stand-in.ts';

/** POST over HTTPS trusting only the given CA. */
function httpsPost(url: string, path: string, body: unknown, ca: Buffer): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(new URL(path, url), { method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** Sends `head` on a raw socket, then one byte every `dripMs`, and resolves with what the server answered and when it closed. */
function slowClient(port: number, head: string, drip: string, dripMs: number): Promise<{ answer: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    let at = 0;
    const timer = setInterval(() => {
      if (!socket.destroyed && socket.writable) socket.write(drip[at++ % drip.length] as string);
    }, dripMs);
    socket.on('connect', () => socket.write(head));
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ answer, closedAfterMs: Date.now() - started });
    });
    setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      reject(new Error(`the server still held the slow connection after 20 s (answer so far: ${JSON.stringify(answer)})`));
    }, 20_000).unref();
  });
}

describe('HTTPS listener', () => {
  it('serves the API over TLS with a certificate made in the test, and nothing over plain HTTP', async (t) => {
    const dir = tempDir(t);
    const { certFile, keyFile, cert } = selfSignedCertificate(dir);
    const cache = await startCacheProcess({
      LLMCACHE_DATA_DIR: join(dir, 'data'),
      LLMCACHE_TLS_CERT_FILE: certFile,
      LLMCACHE_TLS_KEY_FILE: keyFile,
      LLMCACHE_TLS_MIN_VERSION: 'TLSv1.3',
    });
    t.after(() => cache.stop());
    assert.match(cache.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const stored = await httpsPost(
      cache.url,
      '/v1/cache/entries?wait=true',
      { prompt: 'What is TLS?', response: 'Transport Layer Security.' },
      cert,
    );
    assert.equal(stored.status, 201, JSON.stringify(stored.body));
    const hit = await httpsPost(cache.url, '/v1/cache/lookup', { prompt: 'What is TLS?' }, cert);
    assert.equal(hit.status, 200);
    assert.equal(hit.body.hit, true);
    assert.equal(hit.body.response, 'Transport Layer Security.');

    // A client that does not trust the certificate is refused by its own TLS check.
    await assert.rejects(httpsPost(cache.url, '/v1/cache/lookup', { prompt: 'x' }, Buffer.from('')), /certificate|self.signed/i);
    // Plain HTTP on the TLS port gets no API answer.
    const plain = await fetch(cache.url.replace('https:', 'http:') + '/healthz').then(
      (response) => response.status,
      () => 'refused',
    );
    assert.notEqual(plain, 200);
    // minVersion TLSv1.3: a client limited to TLS 1.2 cannot connect.
    const port = Number(new URL(cache.url).port);
    const old = await new Promise<string>((resolve) => {
      const socket = tlsConnect({ port, host: '127.0.0.1', ca: cert, maxVersion: 'TLSv1.2' }, () => {
        resolve(`connected with ${socket.getProtocol()}`);
        socket.destroy();
      });
      socket.on('error', (error) => resolve(`refused: ${error.message}`));
    });
    assert.match(old, /^refused/);
  });

  it('refuses to start with a missing certificate file, naming it', (t) => {
    const dir = tempDir(t);
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'apps/cli/src/main.ts', 'start'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        LLMCACHE_PORT: '0',
        LLMCACHE_DATA_DIR: dir,
        LLMCACHE_TLS_CERT_FILE: join(dir, 'missing-cert.pem'),
        LLMCACHE_TLS_KEY_FILE: join(dir, 'missing-key.pem'),
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /TLS certificate .*missing-cert\.pem/);
  });
});

describe('slow and oversized clients', () => {
  it('closes connections that send their headers or body too slowly, and refuses oversized headers, while serving others', async (t) => {
    const dir = tempDir(t);
    const cache = await startCacheProcess({
      LLMCACHE_DATA_DIR: dir,
      LLMCACHE_HTTP_HEADERS_TIMEOUT_MS: '1000',
      LLMCACHE_HTTP_REQUEST_TIMEOUT_MS: '2000',
      LLMCACHE_HTTP_MAX_HEADER_BYTES: '4096',
    });
    t.after(() => cache.stop());
    const port = Number(new URL(cache.url).port);

    const slowHeaders = slowClient(port, 'POST /v1/cache/lookup HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ', 'a', 200);
    const slowBody = slowClient(
      port,
      'POST /v1/cache/lookup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"prompt":"',
      'b',
      200,
    );
    // Meanwhile the gateway answers everyone else.
    const other = await postJson(`${cache.url}/v1/cache/lookup`, { prompt: 'anyone there?' });
    assert.equal(other.status, 200);

    const headers = await slowHeaders;
    assert.match(headers.answer, /^HTTP\/1\.1 408/, `slow headers got: ${JSON.stringify(headers.answer)}`);
    assert.ok(headers.closedAfterMs < 10_000, `closed after ${headers.closedAfterMs} ms`);
    const body = await slowBody;
    assert.match(body.answer, /^HTTP\/1\.1 408/, `slow body got: ${JSON.stringify(body.answer)}`);

    const huge = await fetch(`${cache.url}/v1/cache/lookup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-filler': 'x'.repeat(8000) },
      body: JSON.stringify({ prompt: 'x' }),
    });
    assert.equal(huge.status, 431);
    assert.equal((await postJson(`${cache.url}/v1/cache/lookup`, { prompt: 'still fine?' })).status, 200);
  });
});

describe('secrets at rest and in logs', () => {
  it('decrypts encrypted config secrets and never prints a secret in any log line or error message', async (t) => {
    const dir = tempDir(t);
    const upstream = await startUpstreamStandIn(t);
    const key = generateSecretKey();
    const keyFile = join(dir, 'secret.key');
    writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
    const upstreamKey = `sk-upstream-${randomBytes(12).toString('hex')}`;
    const adminToken = `admin-${randomBytes(16).toString('hex')}`;
    const embeddingKey = `sk-embed-${randomBytes(12).toString('hex')}`;
    const configFile = join(dir, 'llm-cache.yaml');
    const enc = (value: string): string => encryptSecret(value, parseSecretKey(key, 'test key'));
    writeFileSync(
      configFile,
      [
        `dataDir: ${join(dir, 'data')}`,
        'logLevel: trace',
        'auth:',
        '  required: true',
        `  adminToken: "${enc(adminToken)}"`,
        'upstream:',
        `  baseUrl: ${upstream.url}/v1`,
        `  apiKey: "${enc(upstreamKey)}"`,
        'embedding:',
        `  apiKey: "${enc(embeddingKey)}"`,
        '',
      ].join('\n'),
    );
    assert.doesNotMatch(
      readFileSync(configFile, 'utf8'),
      new RegExp(`${upstreamKey}|${adminToken}`),
      'the file holds only encrypted forms',
    );

    const cache = await startCacheProcess({ LLMCACHE_CONFIG: configFile, LLMCACHE_SECRET_KEY_FILE: keyFile, LLMCACHE_LOG_LEVEL: 'trace' });
    let stopped = false;
    t.after(() => (stopped ? undefined : cache.stop()));
    const admin = { authorization: `Bearer ${adminToken}` };

    const created = await postJson(`${cache.url}/v1/admin/tokens`, { name: 'app', role: 'writer' }, admin);
    assert.equal(created.status, 201, 'the decrypted admin token works');
    const appToken = created.body.token as string;
    const app = { authorization: `Bearer ${appToken}` };

    const chat = { model: 'gpt-test', messages: [{ role: 'user', content: 'What is a secret?' }] };
    const miss = await postJson(`${cache.url}/v1/chat/completions`, chat, app);
    assert.equal(miss.status, 200, JSON.stringify(miss.body));
    assert.equal(upstream.calls.at(-1)?.authorization, `Bearer ${upstreamKey}`, 'the upstream receives the decrypted key');

    // An upstream that quotes the credential back in its error: the client's error says nothing of it.
    upstream.failStatus = 401;
    const failed = await postJson(
      `${cache.url}/v1/chat/completions`,
      { ...chat, messages: [{ role: 'user', content: 'Another one?' }] },
      app,
    );
    assert.equal(failed.status, 401, 'an upstream 4xx is passed through');
    assert.doesNotMatch(JSON.stringify(failed.body), new RegExp(upstreamKey));
    upstream.failStatus = null;

    assert.equal((await postJson(`${cache.url}/v1/cache/lookup`, { prompt: 'x' }, { authorization: `Bearer ${adminToken}x` })).status, 401);
    assert.equal((await postJson(`${cache.url}/v1/cache/entries?wait=true`, { prompt: 'p', response: 'r' }, app)).status, 201);
    assert.equal((await postJson(`${cache.url}/v1/cache/lookup`, { prompt: 'p' }, app)).body.hit, true);
    const stream = await fetch(`${cache.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...app },
      body: JSON.stringify({ ...chat, stream: true, messages: [{ role: 'user', content: 'Stream it?' }] }),
    });
    assert.equal(stream.status, 200);
    await stream.text();

    stopped = true;
    await cache.stop();
    const output = cache.output();
    assert.match(output, /"level":10|"level":20/, 'trace and debug lines were written, so the check covers the most verbose logs');
    for (const [name, secret] of Object.entries({ upstreamKey, adminToken, embeddingKey, appToken, key })) {
      assert.ok(!output.includes(secret), `the ${name} appears in the log output`);
    }
  });

  it('exits with a clear message, without the value, when the key is missing or wrong', (t) => {
    const dir = tempDir(t);
    const secret = `sk-${randomBytes(12).toString('hex')}`;
    const encrypted = encryptSecret(secret, parseSecretKey(generateSecretKey(), 'k'));
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'apps/cli/src/main.ts', 'start'], {
        cwd: REPO_ROOT,
        env: { ...process.env, LLMCACHE_PORT: '0', LLMCACHE_DATA_DIR: dir, LLMCACHE_UPSTREAM_API_KEY: encrypted, ...env },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const missing = run({});
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /upstream\.apiKey is encrypted: set LLMCACHE_SECRET_KEY/);
    const wrong = run({ LLMCACHE_SECRET_KEY: generateSecretKey() });
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /upstream\.apiKey: cannot decrypt/);
    assert.ok(!`${missing.stderr}${wrong.stderr}`.includes(secret));
  });
});
