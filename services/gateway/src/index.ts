import type { FastifyInstance } from 'fastify';
import { CacheError, type RunningService } from '@llm-cache/core';
import type { GatewayCache } from './gateway-cache.ts';
import { buildGateway, type GatewayServiceDeps } from './gateway.ts';

export { buildGateway, type BuiltGateway, type GatewayServiceDeps } from './gateway.ts';
export { GatewayCache } from './gateway-cache.ts';
export { ExactTier } from './exact-tier.ts';
export { buildHttpServer, type ListenerTls } from './server.ts';
export { parseCacheControl } from './http/cache-control.ts';
export { allows, Authenticator, hashToken, type Principal } from './auth.ts';

const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

export interface RunningGateway extends RunningService {
  readonly app: FastifyInstance;
  readonly cache: GatewayCache;
  /** The base URL the gateway listens on. */
  readonly url: string;
}

/** Starts the gateway: subscribes to its replies, then listens for HTTP. */
export async function startGateway(deps: GatewayServiceDeps): Promise<RunningGateway> {
  if (!deps.auth.required && !isLoopback(deps.host)) {
    throw new CacheError(
      'LLMCACHE_CONFIG',
      `host ${deps.host} is not a loopback address: set auth.required (LLMCACHE_AUTH_REQUIRED=true) and create tokens before listening there`,
    );
  }
  const { app, cache, close } = await buildGateway(deps);
  await app.listen({ host: deps.host, port: deps.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : deps.port;
  const host = deps.host.includes(':') ? `[${deps.host}]` : deps.host;
  return { name: 'gateway', app, cache, url: `${deps.tls ? 'https' : 'http'}://${host}:${port}`, close };
}
export { idleGateway, openApiDocument, type IdleGateway } from './openapi.ts';
