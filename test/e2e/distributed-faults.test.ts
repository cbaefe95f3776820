import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { postJson, REPO_ROOT } from '../helpers/cache-process.ts';
import { freshDistributedEnv, startDistributedCluster, type DistributedCluster } from '../helpers/distributed-cluster.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('distributed mode under faults and with several instances', () => {
  describe('two gateways and two matchers', () => {
    let cluster: DistributedCluster;
    before(async () => {
      // A burst of 48 lookups through Kafka on a busy two-core machine: a generous lookup timeout, since
      // this checks where replies go, and a timed-out lookup would answer a miss.
      cluster = await startDistributedCluster(
        { ...freshDistributedEnv(), LLMCACHE_LOOKUP_TIMEOUT_MS: '15000' },
        { gateways: 2, matchers: 2 },
      );
    });
    after(async () => cluster?.destroy());

    it('answers each request exactly once, to the caller that asked', async () => {
      const topics = Array.from(
        { length: 24 },
        (_, i) => `topic number ${i}: ${['rivers', 'volcanoes', 'glaciers', 'deserts'][i % 4]} of region ${i}`,
      );
      for (const [i, topic] of topics.entries()) {
        const stored = await postJson(`${cluster.urls[i % 2]}/v1/cache/entries?wait=true`, {
          prompt: `Tell me about ${topic}`,
          response: `answer ${i}`,
        });
        assert.equal(stored.status, 201, JSON.stringify(stored.body));
      }
      // Every lookup goes through the bus (first time each text is seen by its gateway); both gateways at once.
      const lookups = topics.flatMap((topic, i) =>
        [0, 1].map(async (g) => {
          const requestId = `scale-${i}-${g}`;
          const result = await postJson(
            `${cluster.urls[g]}/v1/cache/lookup`,
            { prompt: `Please tell me about ${topic}` },
            { 'x-request-id': requestId },
          );
          return { i, g, requestId, status: result.status, body: result.body, echoed: result.headers.get('x-request-id') };
        }),
      );
      const results = await Promise.all(lookups);
      for (const r of results) {
        assert.equal(r.status, 200);
        assert.equal(r.echoed, r.requestId);
        assert.equal(r.body.hit, true, `lookup ${r.i} on gateway ${r.g}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.response, `answer ${r.i}`, 'each caller gets the answer to its own question');
      }
      const output = cluster.output();
      assert.doesNotMatch(output, /lookup timed out/, 'no reply was lost or taken by the other gateway');
    });

    it('serves stream users: the documented example produces Avro requests and reads the hit stream', () => {
      const run = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          'examples/stream-lookup.ts',
          'How do I bake sourdough bread at home?',
          'How can I bake sourdough bread at home?',
        ],
        {
          cwd: REPO_ROOT,
          env: { ...process.env, ...cluster.env },
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /^stored [0-9a-f]{32} \(.*llmcache\.stored\)$/m);
      assert.match(run.stdout, /^hit score=0\.9\d\d response=Use my_list/m);
    });
  });

  describe('kill -9 of a matcher and of the writer under steady load', () => {
    let cluster: DistributedCluster;
    before(async () => {
      cluster = await startDistributedCluster(freshDistributedEnv(), { gateways: 1, matchers: 2 });
    });
    after(async () => cluster?.destroy());

    it('recovers within 30 s, keeps every acknowledged write, and a replay adds no duplicates', async () => {
      const url = cluster.urls[0] as string;
      const acknowledged = new Map<string, string>();
      const timeline: Array<{ at: number; ok: boolean }> = [];
      const seed = 'Seed question about the fault test';
      // Eight namespaces: eight scope keys, spread over the partitions (and so over both matchers).
      const namespaces = Array.from({ length: 8 }, (_, i) => `fault-${i}`);
      for (const namespace of namespaces) {
        assert.equal(
          (await postJson(`${url}/v1/cache/entries?wait=true`, { prompt: seed, response: 'seed answer', namespace })).status,
          201,
        );
      }
      // Each round stores a new entry (acknowledged with 201) and looks up a text never seen before, so
      // every lookup needs the embedder and a matcher (a timeout would answer hit: false).
      let running = true;
      let n = 0;
      const load = (async () => {
        while (running) {
          const i = n++;
          const prompt = `Fault test question ${i}: what is ${i} times ${i + 7}?`;
          const [store, lookup] = await Promise.all([
            postJson(`${url}/v1/cache/entries?wait=true`, { prompt, response: `${i * (i + 7)}` }).catch(() => ({ status: 0, body: null })),
            postJson(`${url}/v1/cache/lookup`, {
              prompt: `${seed}, round ${i}`,
              threshold: 0.3,
              namespace: namespaces[i % namespaces.length],
            }).catch(() => ({ status: 0, body: null })),
          ]);
          if (store.status === 201) acknowledged.set(prompt, `${i * (i + 7)}`);
          timeline.push({ at: Date.now(), ok: store.status === 201 && lookup.status === 200 && lookup.body?.hit === true });
          await sleep(100);
        }
      })();
      await sleep(4000);
      const killedAt = Date.now();
      await cluster.kill('matcher-1', 'SIGKILL');
      await cluster.kill('writer-1', 'SIGKILL');
      // The orchestrator's part: a new writer process replaces the dead one.
      await cluster.start('writer-2');
      await sleep(35_000);
      running = false;
      await load;
      const failuresAfterKill = timeline.filter((t) => t.at > killedAt && !t.ok);
      const lastFailure = failuresAfterKill.at(-1)?.at ?? killedAt;
      const recoverySeconds = (lastFailure - killedAt) / 1000;
      process.stderr.write(
        `[fault] ${timeline.length} rounds, ${failuresAfterKill.length} failed after the kill, service back after ${recoverySeconds.toFixed(1)} s\n`,
      );
      assert.ok(recoverySeconds < 30, `service continued within 30 s (took ${recoverySeconds} s)`);
      assert.ok(timeline.filter((t) => t.at > lastFailure && t.ok).length >= 10, 'steady success after recovery');

      for (const [prompt, answer] of acknowledged) {
        const lookup = await postJson(`${url}/v1/cache/lookup`, { prompt });
        assert.equal(lookup.body.hit, true, `acknowledged write "${prompt}" is readable`);
        assert.equal(lookup.body.response, answer);
      }

      const replay = spawnSync(process.execPath, ['--import', 'tsx', 'apps/cli/src/main.ts', 'replay', '--idle-seconds', '5'], {
        cwd: REPO_ROOT,
        env: { ...process.env, ...cluster.env, LLMCACHE_LOG_LEVEL: 'warn' },
        encoding: 'utf8',
        timeout: 120_000,
      });
      assert.equal(replay.status, 0, replay.stderr);
      const match = /replayed (\d+) write events: (\d+) entries created/.exec(replay.stdout);
      assert.ok(match, replay.stdout + replay.stderr);
      assert.ok(Number(match[1]) >= acknowledged.size, 'every write event was replayed');
      assert.equal(Number(match[2]), 0, 'replaying into the same cache creates no entry twice');
      assert.match(replay.stderr, /\[replay\] \d+\/\d+ events/, 'replay shows progress');
    });
  });
});
