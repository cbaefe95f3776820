import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import secureJson from 'secure-json-parse';
import { CacheError } from '@llm-cache/core';

/**
 * A lone (unpaired) UTF-16 surrogate. With the `u` flag a well-formed pair is one code point, so only
 * a lone half matches `\p{Surrogate}` (what `String.prototype.isWellFormed` tests on Node 20, which the
 * ES2023 lib this code compiles against does not declare).
 */
const LONE_SURROGATE = /\p{Surrogate}/u;

/** What one walk over a parsed JSON body finds: its nesting depth and the first ill-formed string. */
export interface JsonShape {
  /** Deepest nesting (a scalar is 0). */
  depth: number;
  /** Where a string value or key holds a lone surrogate, e.g. `body.messages[0].content`; undefined when none does. */
  loneSurrogate?: { path: string; codeUnit: string; index: number };
}

interface Frame {
  node: unknown;
  depth: number;
  parent: Frame | undefined;
  key: string | number | undefined;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function pathOf(frame: Frame | undefined, root: string): string {
  const parts: string[] = [];
  for (let at = frame; at?.key !== undefined; at = at.parent) {
    const key = at.key;
    parts.unshift(typeof key === 'number' ? `[${key}]` : IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);
  }
  return `${root}${parts.join('')}`;
}

function loneSurrogateIn(text: string, path: () => string): JsonShape['loneSurrogate'] {
  const match = LONE_SURROGATE.exec(text);
  if (!match) return undefined;
  const codeUnit = `\\u${match[0].charCodeAt(0).toString(16).padStart(4, '0')}`;
  return { path: path(), codeUnit, index: match.index };
}

/**
 * Depth and well-formedness of a parsed JSON value in one iterative walk, so hostile input cannot
 * overflow the stack. Object keys are checked too (metadata keys are stored as given). Paths start
 * with `root`.
 */
export function jsonShape(value: unknown, root = 'body'): JsonShape {
  let deepest = 0;
  const stack: Frame[] = [{ node: value, depth: 0, parent: undefined, key: undefined }];
  while (stack.length > 0) {
    const frame = stack.pop() as Frame;
    const { node, depth } = frame;
    if (typeof node === 'string') {
      const loneSurrogate = loneSurrogateIn(node, () => pathOf(frame, root));
      if (loneSurrogate) return { depth: deepest, loneSurrogate };
      continue;
    }
    if (node === null || typeof node !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    if (Array.isArray(node)) {
      node.forEach((child, index) => stack.push({ node: child, depth: depth + 1, parent: frame, key: index }));
      continue;
    }
    for (const [key, child] of Object.entries(node as Record<string, unknown>)) {
      const loneSurrogate = loneSurrogateIn(key, () => `a key of ${pathOf(frame, root)}`);
      if (loneSurrogate) return { depth: deepest, loneSurrogate };
      stack.push({ node: child, depth: depth + 1, parent: frame, key });
    }
  }
  return { depth: deepest };
}

/** The refusal of a string with a lone surrogate: `where` names the field. */
export function loneSurrogateError(found: NonNullable<JsonShape['loneSurrogate']>, where = ''): CacheError {
  return new CacheError(
    'LLMCACHE_VALIDATION',
    `${where}${found.path} holds a lone UTF-16 surrogate (${found.codeUnit} at character ${found.index}): ` +
      'text must be well-formed Unicode, each surrogate escape part of a pair',
  );
}

/**
 * Replaces Fastify's JSON parser with one that also refuses bodies nested deeper than maxDepth and
 * strings (values or keys) holding a lone UTF-16 surrogate, for every route. JSON may spell one
 * (`"\ud800"`), but SQLite, MongoDB and the Avro records on the bus store UTF-8, which cannot: the
 * stored text would come back as U+FFFD after a restart or from another process, so an answer served
 * would change. Refused here, no such text reaches a store, the bus or an upstream provider.
 */
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
    const shape = jsonShape(value);
    if (shape.depth > maxDepth)
      return done(new CacheError('LLMCACHE_BAD_REQUEST', `the JSON body is nested deeper than ${maxDepth} levels`), undefined);
    if (shape.loneSurrogate) return done(loneSurrogateError(shape.loneSurrogate), undefined);
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
