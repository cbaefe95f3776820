import { mkdir, readFile, rm, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import type { ObjectStore } from './ports.ts';

/** ObjectStore on a local folder; keys map to hashed file names, writes are atomic renames. */
export class FsObjectStore implements ObjectStore {
  constructor(private readonly root: string) {}

  private path(key: string): string {
    const digest = createHash('sha256').update(key).digest('hex');
    return join(this.root, digest.slice(0, 2), digest);
  }

  async put(key: string, body: Buffer): Promise<void> {
    const target = this.path(key);
    await mkdir(join(target, '..'), { recursive: true });
    const temporary = `${target}.${randomUUID()}.tmp`;
    await writeFile(temporary, body);
    await rename(temporary, target);
  }

  async get(key: string): Promise<Buffer | null> {
    try {
      return await readFile(this.path(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    await Promise.all(keys.map((key) => rm(this.path(key), { force: true })));
  }

  async close(): Promise<void> {}
}
