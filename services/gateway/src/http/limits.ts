import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import secureJson from 'secure-json-parse';
import { CacheError } from '@llm-cache/core';

/** Deepest nesting of a parsed JSON value (a scalar is 0). Iterative, so hostile input cannot overflow the stack. */
export function jsonDepth(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (node === null || typeof node !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    for (const child of Object.values(node as Record<string, unknown>)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** Replaces Fastify's JSON parser with one that also refuses bodies nested deeper than maxDepth. */
export function installJsonParser(app: FastifyInstance, maxDepth: number): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(new CacheError('LLMCACHE_BAD_REQUEST', 'the JSON body is empty'), undefined);
    let value: unknown;
    try {
      value = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
    } catch (error) {
      return done(new CacheError('LLMCACHE_BAD_REQUEST', `the body is not valid JSON: ${(error as Error).message}`), undefined);
    }
    if (jsonDepth(value) > maxDepth)
      return done(new CacheError('LLMCACHE_BAD_REQUEST', `the JSON body is nested deeper than ${maxDepth} levels`), undefined);
    return done(null, value);
  });
}

/**
 * A token bucket per caller (its token, or its address without one): `perSecond` sustained, `burst`
 * at once. Over it, requests get 429 LLMCACHE_RATE_LIMITED with Retry-After.
 */
export function installRateLimit(app: FastifyInstance, limits: { perSecond: number; burst: number }): void {
  if (limits.perSecond <= 0) return;
  const buckets = new LRUCache<string, { tokens: number; at: number }>({ max: 100_000, ttl: 10 * 60_000 });
  const callerOf = (request: FastifyRequest): string =>
    request.principal?.tokenId ? `token:${request.principal.tokenId}` : `ip:${request.ip}`;
  app.addHook('preHandler', async (request, reply) => {
    if (!request.routeOptions.config?.role) return;
    const key = callerOf(request);
    const now = Date.now();
    const bucket = buckets.get(key) ?? { tokens: limits.burst, at: now };
    bucket.tokens = Math.min(limits.burst, bucket.tokens + ((now - bucket.at) / 1000) * limits.perSecond);
    bucket.at = now;
    if (bucket.tokens < 1) {
      buckets.set(key, bucket);
      reply.header('retry-after', String(Math.ceil((1 - bucket.tokens) / limits.perSecond)));
      throw new CacheError(
        'LLMCACHE_RATE_LIMITED',
        `more than ${limits.perSecond} requests per second (burst ${limits.burst}) for this caller`,
      );
    }
    bucket.tokens -= 1;
    buckets.set(key, bucket);
  });
}
