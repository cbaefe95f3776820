import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, createServer, request as httpRequest, type Server } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { selfSignedCertificate } from '@llm-cache/testing';
import { limitConnections } from '../src/http/connections.ts';

const MAX = 5;

async function listen(t: TestContext, server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

/** Opens raw connections that send nothing, and tells which of them the server has closed. */
async function silent(t: TestContext, port: number, count: number): Promise<{ sockets: Socket[]; open: () => Socket[] }> {
  const closed = new Set<Socket>();
  const sockets = Array.from({ length: count }, () => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.on('close', () => closed.add(socket));
    return socket;
  });
  t.after(() => sockets.forEach((socket) => socket.destroy()));
  await Promise.all(sockets.map((socket) => new Promise((resolve) => (socket.connecting ? socket.once('connect', resolve) : resolve(0)))));
  await new Promise((resolve) => setTimeout(resolve, 100));
  return { sockets, open: () => sockets.filter((socket) => !closed.has(socket)) };
}

function get(port: number, agent: Agent | false = false): Promise<number> {
  return new Promise((resolve, reject) => {
    httpRequest({ port, host: '127.0.0.1', agent }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    })
      .on('error', reject)
      .end();
  });
}

test('at the cap a new connection closes the oldest silent one, and a request still gets through', async (t) => {
  const server = createServer((_request, response) => response.end('ok'));
  limitConnections(server, MAX, false);
  const port = await listen(t, server);
  const { sockets, open } = await silent(t, port, 2 * MAX);
  assert.equal(open().length, MAX);
  assert.deepEqual(open(), sockets.slice(MAX), 'the newest stay, the oldest were closed');
  assert.equal(await get(port), 200);
  assert.equal(open().length, MAX - 1, 'the request took the place of the oldest silent connection');
});

test('connections busy with a request are never closed; with every one busy a new one is refused', async (t) => {
  const waiting: Array<() => void> = [];
  let hold = true;
  const server = createServer((_request, response) => (hold ? waiting.push(() => response.end('ok')) : response.end('ok')));
  limitConnections(server, MAX, false);
  const port = await listen(t, server);
  const answers = Array.from({ length: MAX }, () => get(port));
  while (waiting.length < MAX) await new Promise((resolve) => setTimeout(resolve, 10));
  await assert.rejects(get(port), /ECONNRESET|socket hang up/);
  hold = false;
  waiting.forEach((answer) => answer());
  assert.deepEqual(await Promise.all(answers), Array(MAX).fill(200));
  assert.equal(await get(port), 200);
});

test('silent connections go before connections kept alive between requests', async (t) => {
  const server = createServer((_request, response) => response.end('ok'));
  limitConnections(server, MAX, false);
  const port = await listen(t, server);
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => keepAlive.destroy());
  assert.equal(await get(port, keepAlive), 200);
  const { open } = await silent(t, port, MAX);
  assert.equal(open().length, MAX - 1, 'the kept-alive connection stayed, a silent one made room');
  assert.equal(await get(port, keepAlive), 200, 'on the kept-alive connection');
});

test('behind TLS too, silent connections (no handshake) make room for a request', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'llm-cache-conn-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { key, cert: ca } = selfSignedCertificate(dir);
  const server = createHttpsServer({ key, cert: ca }, (_request, response) => response.end('ok'));
  limitConnections(server, MAX, true);
  const port = await listen(t, server);
  const { open } = await silent(t, port, 2 * MAX);
  assert.equal(open().length, MAX);
  const status = await new Promise<number>((resolve, reject) => {
    httpsRequest({ port, host: '127.0.0.1', ca, agent: false }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    })
      .on('error', reject)
      .end();
  });
  assert.equal(status, 200);
  assert.ok(open().length <= MAX - 1);
});
