/**
 * HTTP lookups against the running embedded LLM-Cache, next to a bare node:http server that returns
 * the same bytes (the ceiling of any Node HTTP path), measured in the same run by the same load
 * generator. Usage: npm run bench:http -- [--seconds 10] [--connections 50] [--semantic-seconds 8]
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startCacheProcess, tempDir, postJson } from '../helpers/cache-process.ts';
import { printTable, runLoad, writeResults, type LoadResult } from './lib.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    'semantic-seconds': { type: 'string', default: '8' },
    data: { type: 'string', default: resolve('../shared/data/qqp-dev.jsonl') },
  },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const cleanups: Array<() => void | Promise<void>> = [];

try {
  const dataDir = tempDir({ after: (fn) => cleanups.push(fn) });
  process.stderr.write('[bench] starting LLM-Cache (embedded)\n');
  const cache = await startCacheProcess({ LLMCACHE_DATA_DIR: dataDir, LLMCACHE_LOG_LEVEL: 'warn' });
  cleanups.push(async () => void (await cache.stop()));
  const prompt = 'How do I reverse a list in Python?';
  await postJson(`${cache.url}/v1/cache/entries?wait=true`, { prompt, response: 'Use my_list.reverse() or my_list[::-1].' });
  const body = JSON.stringify({ prompt });
  const hitBytes = JSON.stringify((await postJson(`${cache.url}/v1/cache/lookup`, { prompt })).body);

  // The baseline runs in a process of its own, like the cache, so both compete with the load generator alike.
  const bare = spawn(process.execPath, ['--import', 'tsx', 'test/bench/bare-server.ts'], {
    env: { ...process.env, BARE_BODY: hitBytes },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cleanups.push(() => void bare.kill('SIGTERM'));
  const bareUrl = await new Promise<string>((done) =>
    bare.stdout.on('data', (chunk: Buffer) => {
      const match = /listening on (\S+)/.exec(chunk.toString());
      if (match?.[1]) done(`${match[1]}/`);
    }),
  );

  const rows: LoadResult[] = [];
  rows.push(await runLoad({ name: 'bare node:http, same bytes', url: bareUrl, connections, durationSeconds: seconds, body }));
  rows.push(
    await runLoad({ name: 'LLM-Cache exact-repeat hit', url: `${cache.url}/v1/cache/lookup`, connections, durationSeconds: seconds, body }),
  );

  // Semantic lookups: every request is a different question, so every one needs an embedding.
  const questions: string[] = [];
  for await (const line of createInterface({ input: createReadStream(values.data) })) {
    if (line.trim() === '') continue;
    questions.push((JSON.parse(line) as { b: string }).b);
    if (questions.length >= 20_000) break;
  }
  rows.push(
    await runLoad({
      name: 'LLM-Cache semantic lookup (distinct)',
      url: `${cache.url}/v1/cache/lookup`,
      connections: 16,
      durationSeconds: Number(values['semantic-seconds']),
      bodies: questions.map((q) => JSON.stringify({ prompt: q })),
    }),
  );
  const ratio = (rows[1] as LoadResult).requestsPerSecond / (rows[0] as LoadResult).requestsPerSecond;
  printTable(`HTTP lookups, ${connections} connections (semantic: 16), ${seconds}s each`, rows);
  console.log(`\nexact-repeat hits reach ${(100 * ratio).toFixed(0)}% of bare node:http throughput`);
  writeResults('http-lookup.json', { connections, seconds, rows, exactVsBare: ratio });
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup();
}
