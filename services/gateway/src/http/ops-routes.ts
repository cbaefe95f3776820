import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { CacheError, type Embedder } from '@llm-cache/core';
import type { Metrics } from '@llm-cache/telemetry';
import type { GatewayCache } from '../gateway-cache.ts';
import {
  embeddingsBodySchema,
  embeddingsReplySchema,
  ERROR_REPLIES,
  evictionsReplySchema,
  healthReplySchema,
  statsReplySchema,
} from './schemas.ts';
import { estimateTokens } from './chat-replay.ts';
import { parseExport, type ExportHeader } from '../transfer.ts';
import { tenantOf } from './auth-routes.ts';

export interface OpsRouteDeps {
  cache: GatewayCache;
  tenant: string;
  metrics: Metrics;
  /** The embedder behind /v1/embeddings, created on first use. */
  embedder: () => Promise<Embedder>;
  /** Named readiness checks; each resolves when its dependency answers. */
  readiness: Record<string, () => Promise<void>>;
}

export function registerOpsRoutes(app: FastifyInstance, deps: OpsRouteDeps): void {
  const { cache, metrics } = deps;

  app.get(
    '/v1/admin/stats',
    {
      config: { role: 'admin' },
      schema: { summary: 'Entries, bytes and hits per namespace', tags: ['admin'], response: { 200: statsReplySchema } },
    },
    async (request) => {
      const tenant = tenantOf(request, deps.tenant);
      const stats = await cache.stats(tenant);
      return {
        ...stats,
        namespaces: stats.namespaces.map(({ namespace, entries, bytes, hits }) => ({ namespace, entries, bytes, hits })),
        lookups: cache.lookupCounts(tenant),
      };
    },
  );

  app.get(
    '/v1/admin/evictions',
    {
      config: { role: 'admin' },
      schema: { summary: 'The latest evictions this gateway heard of', tags: ['admin'], response: { 200: evictionsReplySchema } },
    },
    async (request) => ({
      evictions: cache.evictions
        .recent(tenantOf(request, deps.tenant))
        .map(({ tenant: _tenant, namespace, ...record }) => (namespace === null ? record : { ...record, namespace })),
    }),
  );

  app.get(
    '/v1/admin/export',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Export every live entry as JSON lines (a header line, then one entry a line, vectors included)',
        tags: ['admin'],
        response: {
          200: {
            description: 'A header line, then one entry a line',
            content: { 'application/x-ndjson': { schema: { type: 'string', description: 'JSON lines' } } },
          },
        },
      },
    },
    async (request, reply) => {
      const tenant = tenantOf(request, deps.tenant);
      async function* lines(): AsyncGenerator<string> {
        const header: ExportHeader = { format: 'llm-cache-export', version: 1, exportedAt: new Date().toISOString(), embeddingModels: [] };
        const embedder = await deps.embedder().catch(() => undefined);
        if (embedder) header.embeddingModels.push(embedder.fingerprint);
        yield `${JSON.stringify(header)}\n`;
        for await (const entry of cache.exportEntries(tenant)) yield `${JSON.stringify(entry)}\n`;
      }
      return reply.type('application/x-ndjson').send(Readable.from(lines()));
    },
  );

  app.post<{ Body: string }>(
    '/v1/admin/import',
    {
      config: { role: 'admin' },
      bodyLimit: 64 * 1024 * 1024,
      schema: {
        summary: 'Import entries written by /v1/admin/export (JSON lines); waits until every entry is stored',
        tags: ['admin'],
        consumes: ['application/x-ndjson'],
        body: { type: 'string' },
        response: {
          200: {
            type: 'object',
            required: ['imported', 'created'],
            properties: { imported: { type: 'integer' }, created: { type: 'integer' } },
          },
          ...ERROR_REPLIES,
          504: { $ref: 'Error#' },
        },
      },
    },
    async (request) => {
      const { entries } = parseExport(request.body);
      return cache.importEntries(tenantOf(request, deps.tenant), entries, request.id);
    },
  );

  app.post<{ Body: { input: string | string[]; model?: string; encoding_format?: 'float' | 'base64' } }>(
    '/v1/embeddings',
    {
      config: { role: 'reader' },
      schema: {
        summary: 'OpenAI-compatible embeddings from the local model',
        tags: ['openai'],
        body: embeddingsBodySchema,
        response: { 200: embeddingsReplySchema, ...ERROR_REPLIES },
      },
    },
    async (request) => {
      const inputs = typeof request.body.input === 'string' ? [request.body.input] : request.body.input;
      const embedder = await deps.embedder();
      // Like OpenAI's endpoint, an input longer than the model reads is refused rather than cut short.
      const tooLong = inputs.findIndex((text) => !embedder.window.fits(text));
      if (tooLong >= 0)
        throw new CacheError(
          'LLMCACHE_VALIDATION',
          `input${typeof request.body.input === 'string' ? '' : `[${tooLong}]`} is longer than the embedding model's window of ${embedder.window.maxTokens} tokens`,
        );
      const vectors = await embedder.embed(inputs);
      const base64 = request.body.encoding_format === 'base64';
      const tokens = inputs.reduce((sum, text) => sum + estimateTokens(text), 0);
      return {
        object: 'list',
        data: vectors.map((vector, index) => ({
          object: 'embedding',
          index,
          embedding: base64 ? Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64') : Array.from(vector),
        })),
        model: request.body.model ?? embedder.fingerprint,
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      };
    },
  );

  app.get('/healthz', { schema: { summary: 'Liveness', tags: ['ops'], response: { 200: healthReplySchema } } }, async () => ({
    status: 'ok',
  }));

  app.get(
    '/readyz',
    { schema: { summary: 'Readiness of every dependency', tags: ['ops'], response: { 200: healthReplySchema, 503: healthReplySchema } } },
    async (_request, reply) => {
      const checks: Record<string, string> = {};
      let ready = true;
      await Promise.all(
        Object.entries(deps.readiness).map(async ([name, check]) => {
          try {
            await check();
            checks[name] = 'ok';
          } catch (error) {
            ready = false;
            checks[name] = error instanceof Error ? error.message : 'failed';
          }
        }),
      );
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
    },
  );

  // Every tenant's figures: a metrics token or the bootstrap admin (anyone on loopback without required tokens).
  app.get(
    '/metrics',
    {
      config: { role: 'metrics' },
      schema: {
        summary: 'Prometheus metrics (with tokens required: a metrics token or the bootstrap admin)',
        tags: ['ops'],
        response: { 200: { description: 'The Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
    },
    async (_request, reply) => {
      const text = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(text);
    },
  );
}
