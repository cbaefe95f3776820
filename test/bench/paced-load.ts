/**
 * Many keep-alive connections, each sending a request now and then, the requests spread evenly in
 * time: the shape of many mostly idle clients. autocannon cannot make it (its slowest pace is one
 * request per connection per second, all connections released on one shared tick), so this drives
 * node:http directly, one single-socket keep-alive agent per connection.
 */
import { Agent, request } from 'node:http';
import { percentile, type LoadResult } from './lib.ts';

export interface PacedOptions {
  name: string;
  url: string;
  connections: number;
  /** Requests per second over all connections; request n goes out at n / rate on connection n mod connections. */
  rate: number;
  durationSeconds: number;
  body: string;
  /** A request unanswered this long counts as a timeout (default 10 s, as autocannon's). */
  timeoutMs?: number;
}

export interface PacedResult extends LoadResult {
  /** Percentiles of the requests sent on an open keep-alive connection (each connection's second and later). */
  openP50Ms: number;
  openP99Ms: number;
}

/**
 * Sends `rate * durationSeconds` requests on schedule. Latency runs from when a request was due, not
 * when it left, so a server that falls behind shows it (no coordinated omission).
 */
export async function runPaced(options: PacedOptions): Promise<PacedResult> {
  const { connections, rate, durationSeconds, body } = options;
  process.stderr.write(`[bench] ${options.name}: ${connections} connections, ${rate} req/s in all, ${durationSeconds}s\n`);
  const target = new URL(options.url);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const agents = Array.from({ length: connections }, () => new Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 }));
  const latencies: number[] = [];
  const onOpen: number[] = [];
  const errorKinds: Record<string, number> = {};
  let timeouts = 0;
  let non2xx = 0;
  let lastResponse = 0;
  const total = Math.round(rate * durationSeconds);
  const pending: Array<Promise<void>> = [];
  const started = performance.now();
  const send = (n: number, due: number): Promise<void> =>
    new Promise<void>((done) => {
      const req = request(
        {
          agent: agents[n % connections],
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          timeout: timeoutMs,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            lastResponse = performance.now();
            if ((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300) {
              latencies.push(lastResponse - due);
              if (n >= connections) onOpen.push(lastResponse - due);
            } else non2xx += 1;
            done();
          });
        },
      );
      req.on('timeout', () => {
        timeouts += 1;
        req.destroy(new Error('request timed out'));
      });
      req.on('error', (error: Error & { code?: string }) => {
        const kind = error.code ?? error.message;
        errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
        done();
      });
      req.end(body);
    });
  try {
    for (let n = 0; n < total; n++) {
      const due = started + (n * 1000) / rate;
      for (let wait = due - performance.now(); wait > 0; wait = due - performance.now()) {
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
      pending.push(send(n, due));
    }
    await Promise.all(pending);
  } finally {
    for (const agent of agents) agent.destroy();
  }
  latencies.sort((a, b) => a - b);
  onOpen.sort((a, b) => a - b);
  return {
    name: options.name,
    requestsPerSecond: latencies.length / ((lastResponse - started) / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    p999Ms: percentile(latencies, 99.9),
    errors: Object.values(errorKinds).reduce((sum, n) => sum + n, 0),
    timeouts,
    errorKinds,
    non2xx,
    requests: latencies.length + non2xx,
    openP50Ms: percentile(onOpen, 50),
    openP99Ms: percentile(onOpen, 99),
  };
}
