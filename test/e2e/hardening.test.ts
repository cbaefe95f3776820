import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { postJson, startCacheProcess, tempDir, type CacheProcess } from '../helpers/cache-process.ts';

const NAMESPACE_LABELS = 10;
const MAX_CONNECTIONS = 200;
const HEADERS_TIMEOUT_MS = 2000;

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends raw bytes on a fresh connection and reads the one HTTP answer (the server closes after it). */
function rawExchange(port: number, bytes: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within 5 s to ${JSON.stringify(bytes.slice(0, 80))}; got ${JSON.stringify(text)}`));
    }, 5000);
    const done = (): void => {
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) return;
      const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n');
      const headers = Object.fromEntries(
        lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
      );
      const length = Number(headers['content-length']);
      const body = text.slice(split + 4);
      if (Buffer.byteLength(body) < length) return;
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    };
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      done();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`closed without a complete answer to ${JSON.stringify(bytes.slice(0, 80))}; got ${JSON.stringify(text)}`));
    });
  });
}

/** Asserts the API's error shape, `{error: {code, message}}` as JSON, and returns the code. */
function apiErrorCode(answer: RawAnswer): string {
  assert.match(answer.headers['content-type'] ?? '', /^application\/json/, `not JSON: ${JSON.stringify(answer)}`);
  const parsed = JSON.parse(answer.body) as { error?: { code?: unknown; message?: unknown } };
  assert.equal(typeof parsed.error?.code, 'string', answer.body);
  assert.equal(typeof parsed.error?.message, 'string', answer.body);
  assert.deepEqual(Object.keys(parsed), ['error']);
  return parsed.error?.code as string;
}

/** The namespace label values of each llmcache_ metric of an exposition. */
function namespacesByMetric(exposition: string): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  for (const [, metric = '', namespace = ''] of exposition.matchAll(/^(llmcache_[a-z_]+)\{[^}]*\bnamespace="([^"]*)"/gm)) {
    found.set(metric, (found.get(metric) ?? new Set()).add(namespace));
  }
  return found;
}

async function eventually(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(what());
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('hostile clients against the embedded server with tokens required', () => {
  const adminToken = `bootstrap-${randomBytes(16).toString('hex')}`;
  let cache: CacheProcess;
  let port: number;
  const tokens: Record<'reader' | 'writer' | 'tenantAdmin' | 'metrics', string> = { reader: '', writer: '', tenantAdmin: '', metrics: '' };
  const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
  const scrape = (token?: string): Promise<Response> => fetch(`${cache.url}/metrics`, token ? { headers: bearer(token) } : {});

  const cleanups: Array<() => void> = [];

  before(async () => {
    cache = await startCacheProcess({
      LLMCACHE_DATA_DIR: tempDir({ after: (cleanup) => cleanups.push(cleanup) }),
      LLMCACHE_AUTH_REQUIRED: 'true',
      LLMCACHE_AUTH_ADMIN_TOKEN: adminToken,
      LLMCACHE_METRICS_NAMESPACES: String(NAMESPACE_LABELS),
      LLMCACHE_HTTP_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
      LLMCACHE_HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      LLMCACHE_HTTP_REQUEST_TIMEOUT_MS: '4000',
    });
    port = Number(new URL(cache.url).port);
    for (const [key, role, tenant] of [
      ['reader', 'reader', 'tenant-a'],
      ['writer', 'writer', 'tenant-a'],
      ['tenantAdmin', 'admin', 'tenant-a'],
      ['metrics', 'metrics', undefined],
    ] as const) {
      const created = await postJson(
        `${cache.url}/v1/admin/tokens`,
        { name: key, role, ...(tenant ? { tenant } : {}) },
        bearer(adminToken),
      );
      assert.equal(created.status, 201, JSON.stringify(created.body));
      tokens[key] = created.body.token as string;
    }
  });
  after(async () => {
    await cache?.stop();
    cleanups.forEach((cleanup) => cleanup());
  });

  it('serves /metrics to the metrics token and the bootstrap admin only', async () => {
    const anonymous = await scrape();
    assert.equal(anonymous.status, 401);
    assert.equal(((await anonymous.json()) as { error: { code: string } }).error.code, 'LLMCACHE_UNAUTHORIZED');
    assert.equal((await scrape(tokens.reader)).status, 403, "a tenant's reader does not see every tenant");
    assert.equal((await scrape(tokens.tenantAdmin)).status, 403, "nor does a tenant's admin");
    const scraped = await scrape(tokens.metrics);
    assert.equal(scraped.status, 200);
    assert.match(await scraped.text(), /^# HELP llmcache_/m);
    assert.equal((await scrape(adminToken)).status, 200);

    // The metrics token reaches nothing else, and only the bootstrap admin makes or sees one.
    assert.equal((await postJson(`${cache.url}/v1/cache/lookup`, { prompt: 'x' }, bearer(tokens.metrics))).status, 403);
    const byTenantAdmin = await postJson(`${cache.url}/v1/admin/tokens`, { name: 'scraper', role: 'metrics' }, bearer(tokens.tenantAdmin));
    assert.equal(byTenantAdmin.status, 403);
    const withTenant = await postJson(
      `${cache.url}/v1/admin/tokens`,
      { name: 'x', role: 'metrics', tenant: 'tenant-a' },
      bearer(adminToken),
    );
    assert.equal(withTenant.status, 400);
    const listed = (await (await fetch(`${cache.url}/v1/admin/tokens`, { headers: bearer(tokens.tenantAdmin) })).json()) as {
      tokens: Array<{ role: string }>;
    };
    assert.ok(!listed.tokens.some((token) => token.role === 'metrics'), "a tenant's admin does not list the metrics token");
  });

  it(`keeps at most ${NAMESPACE_LABELS} namespaces (and tenants) per metric, the rest under "other"`, async () => {
    for (let i = 0; i < 15; i++) {
      const stored = await postJson(
        `${cache.url}/v1/cache/entries?wait=true`,
        { prompt: `question ${i}`, response: `answer ${i}`, namespace: `stored-${i}` },
        bearer(tokens.writer),
      );
      assert.equal(stored.status, 201, JSON.stringify(stored.body));
    }
    const namespaces = Array.from({ length: 300 }, (_, i) => `ns-${i}`);
    for (let start = 0; start < namespaces.length; start += 20) {
      await Promise.all(
        namespaces.slice(start, start + 20).map(async (namespace) => {
          const looked = await postJson(`${cache.url}/v1/cache/lookup`, { prompt: 'anything here?', namespace }, bearer(tokens.reader));
          assert.equal(looked.status, 200, JSON.stringify(looked.body));
        }),
      );
    }
    const exposition = await (await scrape(tokens.metrics)).text();
    const found = namespacesByMetric(exposition);
    assert.ok(found.has('llmcache_lookups_total') && found.has('llmcache_entries'), [...found.keys()].join(', '));
    for (const [metric, values] of found) {
      assert.ok(values.size <= NAMESPACE_LABELS + 1, `${metric} has ${values.size} namespace values`);
    }
    assert.ok(found.get('llmcache_lookups_total')?.has('other'));
    assert.ok(found.get('llmcache_entries')?.has('other'));
    const tenants = new Set([...exposition.matchAll(/^llmcache_entries\{[^}]*\btenant="([^"]*)"/gm)].map((match) => match[1]));
    assert.ok(tenants.has('other') && tenants.size <= NAMESPACE_LABELS + 1);
    const lookups = [...exposition.matchAll(/^llmcache_lookups_total\{[^}]*\} (\d+)/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
    assert.ok(lookups >= 300, `every lookup is still counted (${lookups})`);
  });

  it('answers malformed HTTP, and every other refusal, with the API error shape', async () => {
    const cases: Array<[string, string, number, string]> = [
      ['garbage', 'GARBAGE\r\n\r\n', 400, 'LLMCACHE_BAD_REQUEST'],
      [
        'a Content-Length that is no number',
        'POST /v1/cache/lookup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}',
        400,
        'LLMCACHE_BAD_REQUEST',
      ],
      [
        'Content-Length with chunked',
        'POST /v1/cache/lookup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        400,
        'LLMCACHE_BAD_REQUEST',
      ],
      ['HTTP/2 without TLS', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400, 'LLMCACHE_BAD_REQUEST'],
      ['no Host', 'GET /healthz HTTP/1.1\r\n\r\n', 400, 'LLMCACHE_BAD_REQUEST'],
      [
        'oversized headers',
        `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: ${'x'.repeat(20_000)}\r\n\r\n`,
        431,
        'LLMCACHE_HEADERS_TOO_LARGE',
      ],
      [
        'an unknown Expect',
        'POST /v1/cache/lookup HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: a-teapot\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
        417,
        'LLMCACHE_BAD_REQUEST',
      ],
      ['an unknown route', 'GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', 404, 'LLMCACHE_NOT_FOUND'],
      ['a method the route lacks', 'DELETE /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', 404, 'LLMCACHE_NOT_FOUND'],
      [
        'no token',
        'POST /v1/cache/lookup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}',
        401,
        'LLMCACHE_UNAUTHORIZED',
      ],
    ];
    const authorized = (head: string, body: string, type = 'application/json'): string =>
      `POST /v1/cache/lookup HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${tokens.reader}\r\nContent-Type: ${type}\r\n${head}Connection: close\r\n\r\n${body}`;
    cases.push(
      ['bad JSON', authorized('Content-Length: 3\r\n', '{x}'), 400, 'LLMCACHE_BAD_REQUEST'],
      ['text instead of JSON', authorized('Content-Length: 3\r\n', 'abc', 'text/plain'), 415, 'LLMCACHE_UNSUPPORTED_MEDIA_TYPE'],
      ['a body over maxBodyBytes', authorized('Content-Length: 99999999\r\n', '{'), 413, 'LLMCACHE_PAYLOAD_TOO_LARGE'],
    );
    for (const [what, bytes, status, code] of cases) {
      const answer = await rawExchange(port, bytes);
      assert.equal(answer.status, status, `${what}: ${JSON.stringify(answer)}`);
      assert.equal(apiErrorCode(answer), code, what);
    }
  });

  it(`caps connections at ${MAX_CONNECTIONS}, keeps answering health checks and lookups, and closes silent connections`, async (t) => {
    const sockets: Socket[] = [];
    const closed = new Set<Socket>();
    const answers = new Map<Socket, string>();
    t.after(() => sockets.forEach((socket) => socket.destroy()));
    for (let i = 0; i < 2 * MAX_CONNECTIONS; i++) {
      const socket = connect(port, '127.0.0.1');
      socket.on('data', (chunk: Buffer) => answers.set(socket, (answers.get(socket) ?? '') + chunk.toString()));
      socket.on('error', () => undefined);
      socket.on('close', () => closed.add(socket));
      sockets.push(socket);
    }
    // The server keeps at most the cap open: the oldest silent connections make room for newer ones.
    await eventually(
      () => sockets.every((socket) => closed.has(socket) || !socket.connecting),
      5000,
      () => 'the idle connections did not connect',
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const open = sockets.filter((socket) => !closed.has(socket)).length;
    assert.ok(open <= MAX_CONNECTIONS, `${open} idle connections are open`);

    // Readiness and a lookup answer at once, not after the idle connections time out.
    const started = Date.now();
    const ready = await fetch(`${cache.url}/readyz`);
    assert.equal(ready.status, 200);
    const looked = await postJson(`${cache.url}/v1/cache/lookup`, { prompt: 'still there?' }, bearer(tokens.reader));
    assert.equal(looked.status, 200);
    assert.ok(Date.now() - started < HEADERS_TIMEOUT_MS, `answered after ${Date.now() - started} ms`);

    // A connection that never sends a byte is closed by the server after the headers timeout, with a 408.
    await eventually(
      () => closed.size === sockets.length,
      HEADERS_TIMEOUT_MS + 5000,
      () => `${sockets.length - closed.size} idle connections still open ${HEADERS_TIMEOUT_MS + 5000} ms later`,
    );
    const timedOut = [...answers.values()].find((answer) => answer.startsWith('HTTP/1.1 408'));
    assert.ok(timedOut, 'a silent connection was answered 408 before it was closed');
    assert.match(timedOut, /\r\n\r\n\{"error":\{"code":"LLMCACHE_REQUEST_TIMEOUT","message":"[^"]+"\}\}$/);
    assert.equal((await fetch(`${cache.url}/healthz`)).status, 200);
  });
});
