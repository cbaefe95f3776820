import { randomUUID } from 'node:crypto';
import { TOPICS } from '@llm-cache/codec';
import { connectDistributed } from '@llm-cache/runtime/distributed';
import { createWriteHandler } from '@llm-cache/writer';
import { createLogger, Metrics } from '@llm-cache/telemetry';
import { secretsOf } from '@llm-cache/config';
import { configFrom, type ServerFlags } from './serve.ts';

/**
 * `llm-cache replay`: rebuilds the configured stores from the write topic, from its first retained
 * event, with progress. Writes are upserts by entry id, so replaying into a cache that already holds
 * some of the entries creates no duplicates.
 */
export async function replayCommand(flags: ServerFlags & { idleSeconds: string }): Promise<void> {
  const config = configFrom(flags, { mode: 'distributed' });
  const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, secrets: secretsOf(config) });
  const metrics = new Metrics({ defaultMetrics: false });
  const { bus, stores, tokens } = await connectDistributed(config, logger);
  await tokens.close();
  const total = await bus.retainedEvents(TOPICS.writes);
  process.stderr.write(`[replay] ${total} write events retained in ${bus.physical(TOPICS.writes)}\n`);
  const write = createWriteHandler({ bus, stores, logger, metrics, objectThresholdBytes: config.objectThresholdBytes });
  let applied = 0;
  let created = 0;
  let lastEventAt = Date.now();
  const subscription = await bus.subscribe({
    group: `llmcache-replay-${randomUUID()}`,
    fromBeginning: true,
    ephemeral: true,
    concurrency: 1,
    handlers: {
      [TOPICS.writes]: async (event) => {
        const before = await stores.entries.get(event.entryId);
        await write(event);
        applied++;
        if (!before) created++;
        lastEventAt = Date.now();
      },
    },
  });
  const idleMs = Number(flags.idleSeconds) * 1000;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const percent = total === 0 ? 100 : Math.min(100, (100 * applied) / total);
      process.stderr.write(`[replay] ${applied}/${total} events (${percent.toFixed(0)}%), ${created} new entries\n`);
      if (applied >= total || Date.now() - lastEventAt > idleMs) {
        clearInterval(timer);
        resolve();
      }
    }, 1000);
  });
  await subscription.close();
  await write.drain();
  await bus.close();
  await stores.close();
  process.stdout.write(`replayed ${applied} write events: ${created} entries created, ${applied - created} already present\n`);
}
