import type { TestContext } from 'node:test';
import type { VectorRecord } from '@llm-cache/core';
import { MilvusVectorStore, MongoEntryStore, S3ObjectStore } from '@llm-cache/storage/distributed';
import { deleteS3Bucket, dropMilvusCollection, onFreshMongoDatabase, requireServer, STACK, uniqueName } from '@llm-cache/testing';

/** A normalized Float32Array. */
export const unit = (values: number[]): Float32Array => {
  const norm = Math.hypot(...values);
  return Float32Array.from(values.map((v) => v / norm));
};

export const vectorRecord = (id: string, vector: number[], extra: Partial<VectorRecord> = {}): VectorRecord => ({
  id,
  scopeKey: 's1',
  embeddingModel: 'm1',
  vector: unit(vector),
  createdAt: 1000,
  expiresAt: null,
  ...extra,
});

/** A fresh Milvus collection name, dropped after the test. */
export async function milvusCollection(t: TestContext): Promise<string> {
  await requireServer('Milvus', STACK.milvusAddress);
  const collection = uniqueName('llmcache_test_');
  t.after(() => dropMilvusCollection(collection));
  return collection;
}

/** A MilvusVectorStore on a fresh collection, closed and dropped after the test. */
export async function milvusStore(t: TestContext, dimensions: number, collection?: string): Promise<MilvusVectorStore> {
  const name = collection ?? (await milvusCollection(t));
  const store = await MilvusVectorStore.create({ address: STACK.milvusAddress, collection: name, dimensions });
  t.after(() => store.close());
  return store;
}

/** A MongoEntryStore on a fresh database, closed and dropped after the test. */
export const mongoStore = (t: TestContext): Promise<MongoEntryStore> =>
  onFreshMongoDatabase(t, (options) => MongoEntryStore.create(options));

export const s3Options = (bucket: string) => ({
  endpoint: STACK.s3Endpoint,
  region: 'us-east-1',
  bucket,
  accessKeyId: STACK.s3AccessKeyId,
  secretAccessKey: STACK.s3SecretAccessKey,
  forcePathStyle: true,
});

/** A fresh bucket name; after the test its objects and the bucket itself are deleted. */
export async function s3Bucket(t: TestContext): Promise<string> {
  await requireServer('S3 (S3Proxy)', STACK.s3Endpoint);
  const bucket = uniqueName('llmcache-test-');
  t.after(() => deleteS3Bucket(bucket));
  return bucket;
}

/** A S3ObjectStore on a fresh bucket, closed and emptied after the test. */
export async function s3Store(t: TestContext): Promise<S3ObjectStore> {
  const store = await S3ObjectStore.create(s3Options(await s3Bucket(t)));
  t.after(() => store.close());
  return store;
}
