import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { CacheError } from '@llm-cache/core';
import { TOPICS, type Topic, type TopicEvents } from './events.ts';

/** Encodes and decodes one topic's records; a value that breaks the schema is refused. */
export interface Codec<T> {
  readonly topic: Topic;
  /** The Avro schema as JSON text, as registered in a schema registry. */
  readonly schema: string;
  encode(value: T): Buffer;
  decode(buffer: Buffer): T;
}

export const SCHEMA_DIR = fileURLToPath(new URL('../../../schemas/', import.meta.url));

export function schemaText(topic: Topic): string {
  return readFileSync(`${SCHEMA_DIR}${topic}.avsc`, 'utf8');
}

class AvroCodec<T> implements Codec<T> {
  readonly topic: Topic;
  readonly schema: string;
  private readonly type: avro.Type;

  constructor(topic: Topic) {
    this.topic = topic;
    this.schema = schemaText(topic);
    this.type = avro.Type.forSchema(JSON.parse(this.schema) as avro.Schema);
  }

  encode(value: T): Buffer {
    const problems: string[] = [];
    const valid = this.type.isValid(value, {
      errorHook: (path, got) => problems.push(`${path.join('.') || '<record>'} (got ${describe(got)})`),
    });
    if (!valid) {
      throw new CacheError('LLMCACHE_CODEC', `record does not match schema ${this.topic}-value: ${problems.join(', ')}`);
    }
    return this.type.toBuffer(value);
  }

  decode(buffer: Buffer): T {
    try {
      return this.type.fromBuffer(buffer) as T;
    } catch (error) {
      throw new CacheError('LLMCACHE_CODEC', `cannot decode a ${this.topic} record: ${(error as Error).message}`, { cause: error });
    }
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const codecs = new Map<Topic, Codec<unknown>>();

/** The Avro codec of a topic, loaded once from schemas/<topic>.avsc. */
export function codecFor<K extends Topic>(topic: K): Codec<TopicEvents[K]> {
  let codec = codecs.get(topic);
  if (!codec) {
    codec = new AvroCodec<unknown>(topic);
    codecs.set(topic, codec);
  }
  return codec as Codec<TopicEvents[K]>;
}

export const ALL_TOPICS: Topic[] = Object.values(TOPICS);
