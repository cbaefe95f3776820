import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CacheError } from '@llm-cache/core';
import { ANY } from '@llm-cache/storage';
import type { GatewayCache, ThresholdTarget } from '../gateway-cache.ts';
import { tenantOf } from './auth-routes.ts';
import { ERROR_REPLIES, thresholdBodySchema, thresholdQuerySchema, thresholdReplySchema } from './schemas.ts';

/**
 * Whose threshold a request reads or changes: a namespace of the caller's tenant, or the tenant's
 * default. Only the bootstrap admin, naming no tenant, reaches the global default.
 */
function targetOf(request: FastifyRequest, defaultTenant: string, namespace: string | undefined): ThresholdTarget {
  const global = request.principal?.tenant === ANY && request.headers['x-llmcache-tenant'] === undefined;
  if (!global) return { tenant: tenantOf(request, defaultTenant), namespace: namespace ?? ANY };
  if (namespace !== undefined)
    throw new CacheError('LLMCACHE_VALIDATION', 'the global default has no namespaces: name a tenant with x-llmcache-tenant');
  return { tenant: ANY, namespace: ANY };
}

/** The similarity threshold of a tenant or one of its namespaces: read, set and reset. */
export function registerThresholdRoutes(app: FastifyInstance, cache: GatewayCache, defaultTenant: string): void {
  app.get<{ Querystring: { namespace?: string } }>(
    '/v1/admin/threshold',
    {
      config: { role: 'reader' },
      schema: {
        summary: "The similarity threshold in force for the caller's tenant, or one of its namespaces",
        tags: ['admin'],
        querystring: thresholdQuerySchema,
        response: { 200: thresholdReplySchema, ...ERROR_REPLIES },
      },
    },
    async (request) => {
      const target = targetOf(request, defaultTenant, request.query.namespace);
      return { ...target, ...cache.thresholdOf(target) };
    },
  );

  app.put<{ Body: { threshold: number; namespace?: string } }>(
    '/v1/admin/threshold',
    {
      config: { role: 'admin' },
      schema: {
        summary:
          "Set the similarity threshold of the caller's tenant, or of one of its namespaces; kept, and applied by every gateway and matcher",
        tags: ['admin'],
        body: thresholdBodySchema,
        response: { 200: thresholdReplySchema, ...ERROR_REPLIES },
      },
    },
    async (request) => {
      const target = targetOf(request, defaultTenant, request.body.namespace);
      await cache.setThreshold(target, request.body.threshold);
      return { ...target, ...cache.thresholdOf(target) };
    },
  );

  app.delete<{ Querystring: { namespace?: string } }>(
    '/v1/admin/threshold',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Remove a threshold set before, so the broader one applies again (namespace, then tenant, global, configuration)',
        tags: ['admin'],
        querystring: thresholdQuerySchema,
        response: { 200: thresholdReplySchema, ...ERROR_REPLIES },
      },
    },
    async (request) => {
      const target = targetOf(request, defaultTenant, request.query.namespace);
      await cache.unsetThreshold(target);
      return { ...target, ...cache.thresholdOf(target) };
    },
  );
}
