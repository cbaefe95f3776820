import type { FastifyInstance } from 'fastify';
import { notFound } from '@llm-cache/core';
import type { GatewayCache } from '../gateway-cache.ts';
import { tenantOf } from './auth-routes.ts';
import { decisionQuerySchema, decisionReplySchema, ERROR_REPLIES, feedbackBodySchema, feedbackReplySchema } from './schemas.ts';

/** Feedback on answered requests, and what a namespace's decision policy has learned (docs/verified-hits.md). */
export function registerDecisionRoutes(app: FastifyInstance, cache: GatewayCache, defaults: { tenant: string; namespace: string }): void {
  app.post<{ Body: { requestId: string; correct: boolean } }>(
    '/v1/cache/feedback',
    {
      config: { role: 'reader' },
      schema: {
        summary: 'Say whether a cached answer was right; the verified decision policy learns from it',
        tags: ['cache'],
        body: feedbackBodySchema,
        response: { 202: feedbackReplySchema, ...ERROR_REPLIES },
      },
    },
    async (request, reply) => {
      const { requestId, correct } = request.body;
      const hit = await cache.feedback(tenantOf(request, defaults.tenant), requestId, correct);
      if (!hit) throw notFound(`no cache hit with request id ${requestId} to give feedback on (or its feedback window has passed)`);
      return reply.status(202).send({ requestId, entryId: hit.entryId, accepted: true });
    },
  );

  app.get<{ Querystring: { namespace?: string } }>(
    '/v1/admin/decision',
    {
      config: { role: 'admin' },
      schema: {
        summary: "A namespace's decision policy and what its verified outcomes say so far",
        tags: ['admin'],
        querystring: decisionQuerySchema,
        response: { 200: decisionReplySchema, ...ERROR_REPLIES },
      },
    },
    async (request) => cache.decisionReport(tenantOf(request, defaults.tenant), request.query.namespace ?? defaults.namespace),
  );
}
