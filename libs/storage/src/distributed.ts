// The distributed adapters, apart from the package's main entry so that the embedded mode never
// loads the Milvus, MongoDB and S3 clients.
export { MilvusVectorStore, type MilvusVectorStoreOptions } from './milvus-vector-store.ts';
export { MongoEntryStore, type MongoEntryStoreOptions } from './mongo-entry-store.ts';
export { MongoTokenStore } from './mongo-token-store.ts';
export { MongoOutcomeStore } from './mongo-outcome-store.ts';
export { MongoThresholdStore } from './mongo-threshold-store.ts';
export { S3ObjectStore, type S3ObjectStoreOptions } from './s3-object-store.ts';
