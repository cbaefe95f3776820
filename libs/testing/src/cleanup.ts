import { DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { MilvusClient } from '@zilliz/milvus2-sdk-node';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { STACK } from './stack.ts';

// Tests give every run its own topics, subjects, collection, database and bucket. These remove them
// afterwards, so a long-lived local stack does not grow with each run (a Kafka holding thousands of
// test partitions takes minutes to start, and a registry lists at most 1,000 subjects).

/** Deletes schema-registry subjects for good (a soft delete, then the permanent one). */
async function deleteRegistrySubjects(subjects: string[]): Promise<void> {
  for (const subject of subjects) {
    const url = `${STACK.registryUrl}/subjects/${encodeURIComponent(subject)}`;
    await fetch(url, { method: 'DELETE' });
    await fetch(`${url}?permanent=true`, { method: 'DELETE' });
  }
}

/** Deletes every topic whose name starts with `prefix`, and their `<topic>-value` subjects. */
export async function dropKafkaPrefix(prefix: string): Promise<void> {
  const kafka = new Kafka({ clientId: 'llm-cache-test-cleanup', brokers: [STACK.kafkaBrokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    await deleteRegistrySubjects(topics.map((topic) => `${topic}-value`));
  } finally {
    await admin.disconnect();
  }
}

export async function dropMilvusCollection(collection: string): Promise<void> {
  const client = new MilvusClient({ address: STACK.milvusAddress, logLevel: 'error' });
  try {
    await client.dropCollection({ collection_name: collection });
  } finally {
    await client.closeConnection();
  }
}

export async function dropMongoDatabase(database: string): Promise<void> {
  const client = new MongoClient(STACK.mongoUrl, { serverSelectionTimeoutMS: 5000 });
  try {
    await client.db(database).dropDatabase();
  } finally {
    await client.close();
  }
}

/** Deletes a bucket with every object in it; a bucket that does not exist is fine. */
export async function deleteS3Bucket(bucket: string): Promise<void> {
  const client = new S3Client({
    endpoint: STACK.s3Endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: STACK.s3AccessKeyId, secretAccessKey: STACK.s3SecretAccessKey },
  });
  try {
    for (;;) {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      const keys = (listed.Contents ?? []).map((object) => ({ Key: object.Key }));
      if (keys.length === 0) break;
      await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
    }
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if ((error as Error).name !== 'NoSuchBucket') throw error;
  } finally {
    client.destroy();
  }
}
