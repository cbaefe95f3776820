#!/usr/bin/env node
// Kafka readiness probe with no dependencies: sends a Metadata v4 request over raw TCP
// and exits 0 when the broker answers with at least one live broker.
// Usage: node ready.cjs [host] [port]
'use strict';
const net = require('net');
const host = process.argv[2] || '127.0.0.1';
const port = Number(process.argv[3] || 9092);

const clientId = Buffer.from('llmcache-stack-probe');
const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4 + 1);
let o = 0;
o = body.writeInt16BE(3, o); // api key: Metadata
o = body.writeInt16BE(4, o); // api version 4 (v0-v3 were removed in Kafka 4.0)
o = body.writeInt32BE(4242, o); // correlation id
o = body.writeInt16BE(clientId.length, o);
o += clientId.copy(body, o);
o = body.writeInt32BE(-1, o); // topics: null = all
body.writeInt8(0, o); // allow_auto_topic_creation = false
const size = Buffer.alloc(4);
size.writeInt32BE(body.length);

const sock = net.connect({ host, port });
const fail = (msg) => {
  console.error('kafka not ready: ' + msg);
  sock.destroy();
  process.exit(1);
};
const timer = setTimeout(() => fail('timeout'), 3000);
let buf = Buffer.alloc(0);
sock.on('connect', () => sock.write(Buffer.concat([size, body])));
sock.on('error', (e) => fail(e.message));
sock.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  if (buf.length < 4 || buf.length < 4 + buf.readInt32BE(0)) return;
  clearTimeout(timer);
  try {
    let p = 4;
    const corr = buf.readInt32BE(p);
    p += 4;
    if (corr !== 4242) return fail('bad correlation id');
    p += 4; // throttle_time_ms
    const nBrokers = buf.readInt32BE(p);
    p += 4;
    const brokers = [];
    for (let i = 0; i < nBrokers; i++) {
      const id = buf.readInt32BE(p);
      p += 4;
      const hl = buf.readInt16BE(p);
      p += 2;
      const h = buf.toString('utf8', p, p + hl);
      p += hl;
      const bp = buf.readInt32BE(p);
      p += 4;
      const rl = buf.readInt16BE(p);
      p += 2;
      if (rl > 0) p += rl;
      brokers.push(`${id}@${h}:${bp}`);
    }
    const cl = buf.readInt16BE(p);
    p += 2;
    const clusterId = cl >= 0 ? buf.toString('utf8', p, p + cl) : null;
    if (nBrokers < 1) return fail('no brokers in metadata');
    console.log(`kafka ready: cluster ${clusterId} brokers ${brokers.join(',')}`);
    sock.end();
    process.exit(0);
  } catch (e) {
    fail('cannot parse metadata response: ' + e.message);
  }
});
