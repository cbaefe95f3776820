import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CacheError, notFound, type Role } from '@llm-cache/core';
import { ALL_TENANTS, allows, type Authenticator, type Principal } from '../auth.ts';
import { ERROR_REPLIES, ROLE_REPLIES } from './schemas.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** The least role a route needs (see `allows`); routes without one are public (health, readiness). */
    role?: Role;
  }
}

const TENANT = { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' } as const;

/** The tenant a request acts in: its token's, or for the bootstrap admin the x-llmcache-tenant header. */
export function tenantOf(request: FastifyRequest, defaultTenant: string): string {
  const principal = request.principal;
  if (!principal || principal.tenant !== ALL_TENANTS) return principal?.tenant ?? defaultTenant;
  const header = request.headers['x-llmcache-tenant'];
  if (header === undefined) return defaultTenant;
  if (typeof header !== 'string' || !/^[A-Za-z0-9._:-]{1,128}$/.test(header))
    throw new CacheError('LLMCACHE_VALIDATION', 'header x-llmcache-tenant must match ^[A-Za-z0-9._:-]{1,128}$');
  return header;
}

/**
 * Checks every request against its route's role, before the body is read. Routes registered after
 * this get the refusals it (and the rate limit) can answer added to their documented replies.
 */
export function installAuth(app: FastifyInstance, auth: Authenticator): void {
  app.decorateRequest('principal', null);
  app.addHook('onRoute', (route) => {
    const response = (route.schema as { response?: Record<string, unknown> } | undefined)?.response;
    if (route.config?.role && response) route.schema = { ...route.schema, response: { ...ROLE_REPLIES, ...response } };
  });
  app.addHook('onRequest', async (request) => {
    const role = request.routeOptions.config?.role;
    if (!role) return;
    const principal = await auth.authenticate(request.headers.authorization);
    if (!allows(principal, role))
      throw new CacheError('LLMCACHE_FORBIDDEN', `this route needs the ${role} role; the token has ${principal.role}`);
    request.principal = principal;
  });
}

const tokenSchema = {
  type: 'object',
  required: ['id', 'name', 'role', 'tenant', 'createdAt'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    role: { type: 'string', enum: ['reader', 'writer', 'admin', 'metrics'] },
    tenant: { type: 'string' },
    createdAt: { type: 'integer' },
    token: { type: 'string', description: 'The secret, shown once when the token is created.' },
  },
} as const;

/**
 * Metrics tokens see every tenant's figures, so they belong to no tenant (a tenant's admin neither
 * lists nor revokes them) and only the bootstrap admin makes them.
 */
function metricsTokenTenant(request: FastifyRequest<{ Body: { tenant?: string } }>): string {
  if (request.principal?.tenant !== ALL_TENANTS)
    throw new CacheError('LLMCACHE_FORBIDDEN', 'only the bootstrap admin token creates metrics tokens');
  if (request.body.tenant !== undefined)
    throw new CacheError('LLMCACHE_VALIDATION', 'a metrics token belongs to no tenant: leave out tenant');
  return ALL_TENANTS;
}

export function registerTokenRoutes(app: FastifyInstance, auth: Authenticator, defaultTenant: string): void {
  app.post<{ Body: { name: string; role: Role; tenant?: string } }>(
    '/v1/admin/tokens',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Create an API token (its secret is in this answer only)',
        tags: ['admin'],
        body: {
          type: 'object',
          required: ['name', 'role'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 128 },
            role: { type: 'string', enum: ['reader', 'writer', 'admin', 'metrics'] },
            tenant: TENANT,
          },
          additionalProperties: false,
        },
        response: { 201: tokenSchema, ...ERROR_REPLIES },
      },
    },
    async (request, reply) => {
      const own = tenantOf(request, defaultTenant);
      const tenant = request.body.role === 'metrics' ? metricsTokenTenant(request) : (request.body.tenant ?? own);
      if (request.principal?.tenant !== ALL_TENANTS && tenant !== own)
        throw new CacheError('LLMCACHE_FORBIDDEN', 'an admin token creates tokens of its own tenant only');
      const { token, record } = await auth.create({ name: request.body.name, role: request.body.role, tenant });
      const { hash: _hash, ...visible } = record;
      return reply.status(201).send({ ...visible, token });
    },
  );

  app.get(
    '/v1/admin/tokens',
    {
      config: { role: 'admin' },
      schema: {
        summary: "List the tenant's API tokens (without secrets)",
        tags: ['admin'],
        response: {
          200: { type: 'object', required: ['tokens'], properties: { tokens: { type: 'array', items: tokenSchema } } },
        },
      },
    },
    async (request) => {
      const tenant =
        request.principal?.tenant === ALL_TENANTS && request.headers['x-llmcache-tenant'] === undefined
          ? ALL_TENANTS
          : tenantOf(request, defaultTenant);
      return { tokens: (await auth.list(tenant)).map(({ hash: _hash, ...visible }) => visible) };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/admin/tokens/:id',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Revoke an API token',
        tags: ['admin'],
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 128 } } },
        response: {
          200: { type: 'object', required: ['id', 'deleted'], properties: { id: { type: 'string' }, deleted: { type: 'boolean' } } },
          ...ERROR_REPLIES,
        },
      },
    },
    async (request) => {
      const tenant = request.principal?.tenant === ALL_TENANTS ? ALL_TENANTS : tenantOf(request, defaultTenant);
      if (!(await auth.revoke(request.params.id, tenant))) throw notFound(`no token ${request.params.id}`);
      return { id: request.params.id, deleted: true };
    },
  );
}
