import { CacheStores } from './cache-stores.ts';
import { FsObjectStore } from './fs-object-store.ts';
import { SqliteEntryStore } from './sqlite-entry-store.ts';
import { SqliteOutcomeStore } from './sqlite-outcome-store.ts';
import { SqliteVectorStore } from './sqlite-vector-store.ts';
import { SqliteThresholdStore } from './threshold-stores.ts';
import type { SqliteDatabase } from './sqlite.ts';
import type { VectorIndexOptions } from './vector-index.ts';

/**
 * The embedded mode's stores: entries, vectors, outcomes and thresholds in one SQLite database, large answers in
 * a folder. The caller owns the database and closes it after the stores.
 */
export function sqliteCacheStores(db: SqliteDatabase, objectsDir: string, vectorIndex: Partial<VectorIndexOptions> = {}): CacheStores {
  return new CacheStores(
    new SqliteEntryStore(db),
    new SqliteVectorStore(db, vectorIndex),
    new FsObjectStore(objectsDir),
    new SqliteOutcomeStore(db),
    new SqliteThresholdStore(db),
  );
}
