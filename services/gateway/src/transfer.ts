import { Ajv } from 'ajv';
import { CacheError } from '@llm-cache/core';
import type { CacheWriteEvent } from '@llm-cache/codec';
import { jsonShape, loneSurrogateError } from './http/limits.ts';

/** The first line of an export: what made it and with which embedding models. */
export interface ExportHeader {
  format: 'llm-cache-export';
  version: 1;
  exportedAt: string;
  /** Fingerprints of the embedding models of the exported vectors. */
  embeddingModels: string[];
}

/** One exported entry (a JSONL line): everything needed to recreate it, vector included. */
export type ExportedEntry = Pick<
  CacheWriteEvent,
  'namespace' | 'model' | 'paramsHash' | 'contextHash' | 'prompt' | 'response' | 'tags' | 'createdAt' | 'expiresAt' | 'embeddingModel'
> & {
  /** Float32 little-endian, base64. */
  vector: string;
};

export const exportedEntrySchema = {
  type: 'object',
  required: [
    'namespace',
    'model',
    'paramsHash',
    'contextHash',
    'prompt',
    'response',
    'tags',
    'createdAt',
    'expiresAt',
    'embeddingModel',
    'vector',
  ],
  properties: {
    namespace: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' },
    model: { type: 'string', minLength: 1, maxLength: 256 },
    paramsHash: { type: 'string', maxLength: 128 },
    contextHash: { type: 'string', maxLength: 128 },
    prompt: { type: 'string', minLength: 1 },
    response: { type: 'string' },
    tags: { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 128 } },
    createdAt: { type: 'integer', minimum: 0 },
    expiresAt: { anyOf: [{ type: 'integer', minimum: 0 }, { type: 'null' }] },
    embeddingModel: { type: 'string', minLength: 1, maxLength: 256 },
    vector: { type: 'string', minLength: 4, pattern: '^[A-Za-z0-9+/]+=*$' },
  },
  additionalProperties: false,
} as const;

const validate = new Ajv({ allErrors: false }).compile<ExportedEntry>(exportedEntrySchema);

export const encodeVector = (vector: Float32Array): string =>
  Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64');

export function decodeVector(text: string): number[] {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.byteLength % 4 !== 0) throw new CacheError('LLMCACHE_VALIDATION', 'vector is not a whole number of float32 values');
  const vector = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(vector.buffer).set(bytes);
  return Array.from(vector);
}

/** Parses an export (JSONL): the header line is optional; each entry line is validated. */
export function parseExport(text: string): { header: ExportHeader | null; entries: ExportedEntry[] } {
  let header: ExportHeader | null = null;
  const entries: ExportedEntry[] = [];
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new CacheError('LLMCACHE_VALIDATION', `line ${index + 1} is not JSON`);
    }
    if ((value as { format?: unknown }).format === 'llm-cache-export') {
      header = value as ExportHeader;
      continue;
    }
    if (!validate(value)) {
      const problem = validate.errors?.[0];
      throw new CacheError(
        'LLMCACHE_VALIDATION',
        `line ${index + 1}: ${problem?.instancePath || 'entry'} ${problem?.message ?? 'is invalid'}`,
      );
    }
    // As for JSON bodies: a lone surrogate would not survive storage as UTF-8 (see installJsonParser).
    const { loneSurrogate } = jsonShape(value, 'entry');
    if (loneSurrogate) throw loneSurrogateError(loneSurrogate, `line ${index + 1}: `);
    entries.push(value);
  }
  return { header, entries };
}
