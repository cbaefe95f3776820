export type { VectorStore, EntryStore, ObjectStore, TokenStore, EntryFilter, EvictionOrder, StoreTotals, NamespaceStats } from './ports.ts';
export { openSqlite, type SqliteDatabase } from './sqlite.ts';
export { SqliteEntryStore } from './sqlite-entry-store.ts';
export { SqliteVectorStore } from './sqlite-vector-store.ts';
export { FsObjectStore } from './fs-object-store.ts';
export { FlatIndex } from './flat-index.ts';
export { CacheStores } from './cache-stores.ts';
export { SqliteTokenStore } from './sqlite-token-store.ts';
