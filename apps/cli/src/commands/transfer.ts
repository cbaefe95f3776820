import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { CacheError } from '@llm-cache/core';

export interface TransferFlags {
  url: string;
  token?: string;
}

const headers = (flags: TransferFlags, extra: Record<string, string> = {}): Record<string, string> => ({
  ...extra,
  ...(flags.token ? { authorization: `Bearer ${flags.token}` } : {}),
});

async function failure(response: Response): Promise<CacheError> {
  const text = await response.text();
  return new CacheError('LLMCACHE_UNAVAILABLE', `${response.status} from the gateway: ${text.slice(0, 500)}`);
}

/** `llm-cache export`: every live entry of the gateway's tenant as JSON lines, with progress. */
export async function exportCommand(flags: TransferFlags & { out?: string }): Promise<void> {
  const response = await fetch(`${flags.url}/v1/admin/export`, { headers: headers(flags) });
  if (!response.ok || !response.body) throw await failure(response);
  const out = flags.out ? createWriteStream(flags.out) : process.stdout;
  let entries = -1;
  let lastReport = Date.now();
  const decoder = new TextDecoder();
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    if (!out.write(chunk)) await once(out, 'drain');
    entries += (decoder.decode(chunk, { stream: true }).match(/\n/g) ?? []).length;
    if (Date.now() - lastReport > 1000) {
      process.stderr.write(`[export] ${Math.max(entries, 0)} entries\n`);
      lastReport = Date.now();
    }
  }
  if (out !== process.stdout) await new Promise<void>((resolve) => out.end(resolve));
  process.stderr.write(`[export] done: ${Math.max(entries, 0)} entries${flags.out ? ` in ${flags.out}` : ''}\n`);
}

/** `llm-cache import FILE`: sends an export to the gateway in batches, each confirmed once stored. */
export async function importCommand(file: string, flags: TransferFlags & { batch: string }): Promise<void> {
  const size = Math.max(1, Number(flags.batch));
  let batch: string[] = [];
  let imported = 0;
  let created = 0;
  const send = async (): Promise<void> => {
    if (batch.length === 0) return;
    const response = await fetch(`${flags.url}/v1/admin/import`, {
      method: 'POST',
      headers: headers(flags, { 'content-type': 'application/x-ndjson' }),
      body: `${batch.join('\n')}\n`,
    });
    if (!response.ok) throw await failure(response);
    const result = (await response.json()) as { imported: number; created: number };
    imported += result.imported;
    created += result.created;
    batch = [];
    process.stderr.write(`[import] ${imported} entries stored (${created} new)\n`);
  };
  for await (const line of createInterface({ input: createReadStream(file) })) {
    if (line.trim() === '' || line.includes('"format":"llm-cache-export"')) continue;
    batch.push(line);
    if (batch.length >= size) await send();
  }
  await send();
  process.stdout.write(`imported ${imported} entries (${created} new, ${imported - created} replaced)\n`);
}
