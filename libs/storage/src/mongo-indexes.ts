import type { Collection, Document, IndexSpecification } from 'mongodb';

/**
 * Creates the named indexes a collection lacks, one at a time. Asking for indexes that already exist
 * (every start after the first) is left out on purpose: FerretDB drops the connection on a
 * createIndexes naming existing indexes.
 */
export async function ensureIndexes<T extends Document>(
  collection: Collection<T>,
  wanted: ReadonlyArray<{ key: IndexSpecification; name: string; unique?: boolean }>,
): Promise<void> {
  const existing = new Set(
    (
      await collection
        .listIndexes()
        .toArray()
        .catch(() => [])
    ).map((index) => String(index.name)),
  );
  for (const { key, name, unique } of wanted) {
    if (!existing.has(name)) await collection.createIndex(key, { name, ...(unique === undefined ? {} : { unique }) });
  }
}
