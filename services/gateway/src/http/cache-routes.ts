import type { FastifyInstance } from 'fastify';
import { badRequest, notFound, normalizeText, splitConversation, type ChatMessage } from '@llm-cache/core';
import type { GatewayCache, ResolvedRequest } from '../gateway-cache.ts';
import { tenantOf } from './auth-routes.ts';
import {
  deleteReplySchema,
  entryParamsSchema,
  ERROR_REPLIES,
  lookupBodySchema,
  lookupReplySchema,
  purgeBodySchema,
  purgeReplySchema,
  storeBodySchema,
  storeQuerySchema,
  storeReplySchema,
} from './schemas.ts';

export interface CacheRouteDefaults {
  tenant: string;
  namespace: string;
  model: string;
}

interface EntryRequestBody {
  prompt?: string;
  messages?: ChatMessage[];
  model?: string;
  params?: Record<string, unknown>;
  namespace?: string;
}

/** Resolves the scope of a cache API body (a prompt, or messages split like a chat request). */
export function resolveBody(cache: GatewayCache, body: EntryRequestBody, defaults: CacheRouteDefaults, tenant: string): ResolvedRequest {
  let text: string;
  let contextHash = '';
  const params: Record<string, unknown> = { ...body.params };
  if (body.messages) {
    const split = splitConversation(body.messages);
    if (split.text === '') throw badRequest('messages must contain a user message with text');
    text = split.text;
    contextHash = split.contextHash;
    if (split.system !== '') params.system = split.system;
  } else {
    text = normalizeText(body.prompt ?? '');
    if (text === '') throw badRequest('prompt must contain text');
  }
  return cache.resolve({
    tenant,
    namespace: body.namespace ?? defaults.namespace,
    model: body.model ?? defaults.model,
    params,
    contextHash,
    text,
  });
}

export function registerCacheRoutes(app: FastifyInstance, cache: GatewayCache, defaults: CacheRouteDefaults): void {
  app.post<{ Body: EntryRequestBody & { response: string; tags?: string[]; ttlSeconds?: number }; Querystring: { wait?: string } }>(
    '/v1/cache/entries',
    {
      config: { role: 'writer' },
      schema: {
        summary: 'Store an answer',
        tags: ['cache'],
        body: storeBodySchema,
        querystring: storeQuerySchema,
        response: { 201: storeReplySchema, 202: storeReplySchema, ...ERROR_REPLIES, 504: { $ref: 'Error#' } },
      },
    },
    async (request, reply) => {
      const resolved = resolveBody(cache, request.body, defaults, tenantOf(request, defaults.tenant));
      const wait = request.query.wait === 'true';
      const result = await cache.store(resolved, {
        requestId: request.id,
        response: request.body.response,
        tags: request.body.tags ?? [],
        ...(request.body.ttlSeconds === undefined ? {} : { ttlSeconds: request.body.ttlSeconds }),
        wait,
      });
      return reply.status(wait ? 201 : 202).send(result.created === null ? { id: result.id } : result);
    },
  );

  app.post<{ Body: EntryRequestBody & { threshold?: number; maxAgeSeconds?: number } }>(
    '/v1/cache/lookup',
    {
      config: { role: 'reader' },
      schema: {
        summary: 'Look up a prompt',
        tags: ['cache'],
        body: lookupBodySchema,
        response: { 200: lookupReplySchema, ...ERROR_REPLIES },
      },
    },
    async (request) => {
      const resolved = resolveBody(cache, request.body, defaults, tenantOf(request, defaults.tenant));
      const { maxAgeSeconds, threshold } = request.body;
      const result = await cache.lookup(resolved, {
        requestId: request.id,
        ...(threshold === undefined ? {} : { threshold }),
        ...(maxAgeSeconds === undefined ? {} : { minCreatedAt: Date.now() - maxAgeSeconds * 1000 }),
      });
      return result.hit
        ? { hit: true, score: result.score, id: result.entryId, response: result.response, tier: result.tier }
        : { hit: false, score: result.score };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/cache/entries/:id',
    {
      config: { role: 'writer' },
      schema: {
        summary: 'Delete an entry',
        tags: ['cache'],
        params: entryParamsSchema,
        response: { 200: deleteReplySchema, ...ERROR_REPLIES },
      },
    },
    async (request) => {
      const deleted = await cache.remove(tenantOf(request, defaults.tenant), request.params.id);
      if (!deleted) throw notFound(`no entry ${request.params.id}`);
      return { id: request.params.id, deleted };
    },
  );

  app.post<{ Body: { namespace?: string; tags?: string[] } }>(
    '/v1/cache/purge',
    {
      config: { role: 'writer' },
      schema: {
        summary: 'Remove every entry of a namespace, or carrying any of the tags',
        tags: ['cache'],
        body: purgeBodySchema,
        response: { 200: purgeReplySchema, ...ERROR_REPLIES },
      },
    },
    async (request) => ({ purged: await cache.purge(tenantOf(request, defaults.tenant), request.body) }),
  );
}
