import type { Agent as HttpsAgent } from 'node:https';
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  PutObjectCommand,
  S3Client,
  type BucketLocationConstraint,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { CacheError } from '@llm-cache/core';
import type { ObjectStore } from './ports.ts';

export interface S3ObjectStoreOptions {
  /** Endpoint URL of an S3-compatible server; the AWS endpoint of `region` when absent. */
  endpoint?: string | undefined;
  region: string;
  bucket: string;
  /** Static credentials; the SDK's default provider chain when absent. */
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  forcePathStyle: boolean;
  /** The agent for an https endpoint (a private CA, client certificates). */
  httpsAgent?: HttpsAgent | undefined;
}

/** DeleteObjects takes at most 1000 keys. */
const DELETE_BATCH = 1000;

const describe = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return `${error.name}${status === undefined ? '' : ` (HTTP ${status})`}: ${error.message}`;
};

const isMissing = (error: unknown): boolean =>
  error instanceof Error &&
  (error.name === 'NoSuchKey' || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404);

/** ObjectStore on an S3 bucket (AWS S3 or a compatible server), keys used as object keys unchanged. */
export class S3ObjectStore implements ObjectStore {
  private constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  /** Creates the client and the bucket when it does not exist yet. */
  static async create(options: S3ObjectStoreOptions): Promise<S3ObjectStore> {
    const config: S3ClientConfig = { region: options.region, forcePathStyle: options.forcePathStyle };
    if (options.endpoint !== undefined) config.endpoint = options.endpoint;
    if (options.httpsAgent !== undefined) config.requestHandler = { httpsAgent: options.httpsAgent };
    if (options.accessKeyId !== undefined && options.secretAccessKey !== undefined) {
      config.credentials = { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey };
    }
    const client = new S3Client(config);
    const store = new S3ObjectStore(client, options.bucket);
    try {
      await store.ensureBucket(options.region);
    } catch (error) {
      client.destroy();
      const where = options.endpoint ?? `region ${options.region}`;
      throw new CacheError('LLMCACHE_STORAGE', `S3 bucket ${options.bucket} at ${where} unavailable: ${describe(error)}`, { cause: error });
    }
    return store;
  }

  /** HeadBucket first (works without s3:CreateBucket), then CreateBucket, tolerating a concurrent creation. */
  private async ensureBucket(region: string): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (error) {
      if (!isMissing(error) && !(error instanceof Error && error.name === 'NotFound')) throw error;
    }
    try {
      await this.client.send(
        new CreateBucketCommand({
          Bucket: this.bucket,
          ...(region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
        }),
      );
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
    }
  }

  private failure(operation: string, error: unknown): CacheError {
    return new CacheError('LLMCACHE_STORAGE', `S3 ${operation} in bucket ${this.bucket} failed: ${describe(error)}`, { cause: error });
  }

  async put(key: string, body: Buffer): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentLength: body.byteLength }));
    } catch (error) {
      throw this.failure(`put ${key}`, error);
    }
  }

  async get(key: string): Promise<Buffer | null> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (object.Body === undefined) return Buffer.alloc(0);
      const bytes = await object.Body.transformToByteArray();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (error) {
      if (isMissing(error)) return null;
      throw this.failure(`get ${key}`, error);
    }
  }

  /** Deletes in batches of 1000; absent keys are not an error. */
  async delete(keys: readonly string[]): Promise<void> {
    const unique = [...new Set(keys)];
    for (let i = 0; i < unique.length; i += DELETE_BATCH) {
      const batch = unique.slice(i, i + DELETE_BATCH);
      let errors: Array<{ Key?: string; Code?: string; Message?: string }>;
      try {
        const result = await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
        );
        errors = (result.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      } catch (error) {
        throw this.failure(`delete of ${batch.length} objects`, error);
      }
      const first = errors[0];
      if (first) {
        throw new CacheError(
          'LLMCACHE_STORAGE',
          `S3 delete in bucket ${this.bucket} failed for ${errors.length} of ${batch.length} objects, e.g. ${first.Key}: ${first.Code} ${first.Message ?? ''}`,
          { cause: errors },
        );
      }
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
