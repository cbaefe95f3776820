import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { CacheError } from '@llm-cache/core';

/** The SQLite file whose exclusive lock marks a data folder as in use. */
export const LOCK_FILE = 'llm-cache.lock';
/** Who holds the lock (pid, host, since when): informational, for the refusal message only. */
export const LOCK_HOLDER_FILE = 'llm-cache.lock.json';

interface LockHolder {
  pid: number;
  host: string;
  since: string;
}

/** An exclusive hold on a data folder; release it when the stores are closed. */
export interface DataDirLock {
  readonly dir: string;
  release(): void;
}

function readHolder(dir: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(readFileSync(join(dir, LOCK_HOLDER_FILE), 'utf8')) as Partial<LockHolder>;
    return typeof holder.pid === 'number' ? (holder as LockHolder) : undefined;
  } catch {
    return undefined;
  }
}

function describeHolder(holder: LockHolder | undefined): string {
  if (!holder) return 'its pid is not known';
  const where = holder.host === hostname() ? '' : ` on ${holder.host}`;
  return `pid ${holder.pid}${where}, since ${holder.since}`;
}

/**
 * Takes the data folder for this process alone, or throws LLMCACHE_STORAGE naming the folder and,
 * when known, the pid holding it. Two servers on one folder would each build their own in-memory
 * vector index over the one SQLite file and diverge.
 *
 * The lock is SQLite's own: a dedicated database opened in `locking_mode=EXCLUSIVE` whose first
 * write transaction takes an exclusive POSIX (fcntl) lock that is kept until the connection closes.
 * The operating system drops that lock when the process ends, however it ends (kill -9 included),
 * so no stale lock outlives a crash and there is no pid liveness check to get wrong after pid reuse;
 * SQLite also refuses a second connection from the same process. A pid file or an mtime-refreshed
 * lock (proper-lockfile) would need both. The holder file beside it only names the pid for the
 * message. Like every fcntl lock it is only as good as the file system's locking: keep the data
 * folder on a local disk.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, LOCK_FILE);
  // timeout 0: a held lock is refused at once instead of after SQLite's busy wait.
  const db = new Database(file, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = MEMORY');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
  } catch (error) {
    db.close();
    if ((error as { code?: unknown }).code === 'SQLITE_BUSY') {
      throw new CacheError(
        'LLMCACHE_STORAGE',
        `the data folder ${dir} is in use by another LLM-Cache process (${describeHolder(readHolder(dir))}); ` +
          'stop it first, or give this one another data folder (--data-dir or LLMCACHE_DATA_DIR)',
        { cause: error, retryable: false },
      );
    }
    throw new CacheError('LLMCACHE_STORAGE', `cannot lock the data folder ${dir} (${file}): ${(error as Error).message}`, {
      cause: error,
      retryable: false,
    });
  }
  const holder: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const holderFile = join(dir, LOCK_HOLDER_FILE);
  const temporary = `${holderFile}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, `${JSON.stringify(holder)}\n`);
    renameSync(temporary, holderFile);
  } catch (error) {
    db.close();
    throw new CacheError('LLMCACHE_STORAGE', `cannot write ${holderFile}: ${(error as Error).message}`, { cause: error, retryable: false });
  }
  let released = false;
  return {
    dir,
    release: () => {
      if (released) return;
      released = true;
      if (readHolder(dir)?.pid === process.pid) rmSync(holderFile, { force: true });
      db.close();
    },
  };
}
