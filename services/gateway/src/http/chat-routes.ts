import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import OpenAI from 'openai';
import { CacheError, OUTPUT_AFFECTING_PARAMS, badRequest, messageText, splitConversation, type ChatMessage } from '@llm-cache/core';
import type { CacheMissEvent } from '@llm-cache/codec';
import type { Logger, Metrics } from '@llm-cache/telemetry';
import type { GatewayCache, LookupResult, ResolvedRequest } from '../gateway-cache.ts';
import { parseCacheControl, type CacheDirectives } from './cache-control.ts';
import { cachedCompletion, cachedStreamEvents, usageOf } from './chat-replay.ts';
import type { CacheRouteDefaults } from './cache-routes.ts';
import { tenantOf } from './auth-routes.ts';
import { requestIdHeaders } from './request-id.ts';
import { chatBodySchema, chatReplySchema, ERROR_REPLIES, UPSTREAM_REPLIES } from './schemas.ts';
import {
  isChatChunk,
  isChatCompletion,
  notACompletion,
  sendRefusal,
  SilenceWatchdog,
  streamErrorEvent,
  upstreamFailure,
  upstreamRefusal,
  type UpstreamRefusal,
} from './upstream-errors.ts';

export interface UpstreamOptions {
  baseUrl?: string | undefined;
  apiKey?: string | undefined;
  timeoutMs: number;
}

interface ChatBody {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  [key: string]: unknown;
}

export interface TemperaturePolicy {
  above: number;
  action: 'bypass' | 'write-only' | 'cache';
}

export type Pricing = Record<string, { inputPerMillion: number; outputPerMillion: number }>;

export interface ChatRouteDeps {
  temperature: TemperaturePolicy;
  pricing: Pricing;
  cache: GatewayCache;
  defaults: CacheRouteDefaults;
  upstream: UpstreamOptions;
  logger: Logger;
  metrics: Metrics;
}

/** The output-affecting parameters of a chat body, plus its system prompt. */
function chatParams(body: ChatBody, system: string): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const name of OUTPUT_AFFECTING_PARAMS) if (body[name] !== undefined) params[name] = body[name];
  if (system !== '') params.system = system;
  return params;
}

function headerNumber(request: FastifyRequest, name: string): number | undefined {
  const raw = request.headers[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new CacheError('LLMCACHE_VALIDATION', `header ${name} must be a number from 0 to 1`);
  }
  return value;
}

function headerNamespace(request: FastifyRequest): string | undefined {
  const raw = request.headers['x-llmcache-namespace'];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^[A-Za-z0-9._:-]{1,128}$/.test(raw)) {
    throw new CacheError('LLMCACHE_VALIDATION', 'header x-llmcache-namespace must match ^[A-Za-z0-9._:-]{1,128}$');
  }
  return raw;
}

export function registerChatRoutes(app: FastifyInstance, deps: ChatRouteDeps): void {
  const { cache, defaults, upstream, logger, metrics, temperature } = deps;
  let sharedClient: OpenAI | undefined;

  const upstreamClient = (request: FastifyRequest): OpenAI => {
    if (!upstream.baseUrl) {
      throw new CacheError('LLMCACHE_UPSTREAM_NOT_CONFIGURED', 'no upstream model is configured (set LLMCACHE_UPSTREAM_BASE_URL)');
    }
    if (upstream.apiKey)
      return (sharedClient ??= new OpenAI({
        baseURL: upstream.baseUrl,
        apiKey: upstream.apiKey,
        timeout: upstream.timeoutMs,
        maxRetries: 0,
        logLevel: 'off',
      }));
    if (request.principal?.tokenId) {
      throw new CacheError(
        'LLMCACHE_UPSTREAM_NOT_CONFIGURED',
        'set upstream.apiKey (LLMCACHE_UPSTREAM_API_KEY): API tokens of this cache are never forwarded upstream',
      );
    }
    const auth = request.headers.authorization;
    const callerKey = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : 'unset';
    return new OpenAI({ baseURL: upstream.baseUrl, apiKey: callerKey, timeout: upstream.timeoutMs, maxRetries: 0, logLevel: 'off' });
  };

  const refuse = (reply: FastifyReply, request: FastifyRequest, refusal: UpstreamRefusal, status: 'miss' | 'bypass'): FastifyReply => {
    logger.info({ reqId: request.id, status: refusal.status, code: refusal.error.code }, 'upstream refused the request');
    return sendRefusal(reply, refusal, status);
  };

  const remember = (
    resolved: ResolvedRequest,
    requestId: string,
    answer: string,
    miss: CacheMissEvent | null,
    directives: CacheDirectives,
  ): void => {
    if (directives.noStore || answer === '') return;
    cache
      .store(resolved, { requestId: `${requestId}:write`, response: answer, tags: [], wait: false }, miss)
      .catch((error: unknown) => logger.warn({ reqId: requestId, err: error }, 'could not queue the write of a miss'));
  };

  const answerFromCache = (
    reply: FastifyReply,
    request: FastifyRequest,
    body: ChatBody,
    resolved: ResolvedRequest,
    hit: Extract<LookupResult, { hit: true }>,
  ): FastifyReply | undefined => {
    const id = `chatcmpl-cache-${hit.entryId.slice(0, 16)}`;
    // Every message counts as prompt (not only the part that was embedded).
    const usage = usageOf(body.messages.map((message) => messageText(message.content)).join('\n'), hit.response);
    const labels = { namespace: resolved.scope.namespace, model: body.model };
    metrics.tokensSaved.inc(labels, usage.total_tokens);
    const price = deps.pricing[body.model] ?? deps.pricing.default;
    if (price)
      metrics.costSaved.inc(labels, (usage.prompt_tokens * price.inputPerMillion + usage.completion_tokens * price.outputPerMillion) / 1e6);
    const headers = {
      'x-llmcache': 'hit',
      'x-llmcache-score': hit.score.toFixed(4),
      'x-llmcache-tier': hit.tier,
      ...requestIdHeaders(request),
    };
    if (!body.stream) return reply.headers(headers).send(cachedCompletion(id, body.model, hit.response, usage));
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      ...headers,
    });
    const events = cachedStreamEvents(id, body.model, hit.response, body.stream_options?.include_usage ? usage : null);
    reply.raw.end(`${events.map((event) => `data: ${event}\n\n`).join('')}data: [DONE]\n\n`);
    return undefined;
  };

  const streamMiss = async (
    reply: FastifyReply,
    request: FastifyRequest,
    body: ChatBody,
    resolved: ResolvedRequest,
    miss: CacheMissEvent | null,
    status: 'miss' | 'bypass',
    directives: CacheDirectives,
  ): Promise<FastifyReply | undefined> => {
    const client = upstreamClient(request);
    const watchdog = new SilenceWatchdog(upstream.timeoutMs);
    const stopUpstream = metrics.time('upstream');
    let clientGone = false;
    reply.raw.on('close', () => {
      if (reply.raw.writableFinished) return;
      clientGone = true;
      watchdog.abort();
    });
    // The response starts with the first chunk: until then a failure is still a plain JSON error.
    let started = false;
    let answer = '';
    let finish: string | null = null;
    let choices = 0;
    let failure: CacheError | undefined;
    try {
      const stream = await client.chat.completions.create(
        { ...(body as unknown as OpenAI.Chat.ChatCompletionCreateParamsStreaming), stream: true },
        { signal: watchdog.signal },
      );
      // An abort (silence, or the client leaving) ends this loop quietly rather than throwing.
      for await (const chunk of stream as AsyncIterable<unknown>) {
        watchdog.touch();
        if (!isChatChunk(chunk)) continue;
        if (!started) {
          started = true;
          reply.hijack();
          reply.raw.writeHead(200, {
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-cache',
            connection: 'keep-alive',
            'x-llmcache': status,
            ...requestIdHeaders(request),
          });
        }
        reply.raw.write(`data: ${JSON.stringify(chunk)}\n\n`);
        for (const choice of chunk.choices) {
          const index = typeof choice.index === 'number' ? choice.index : 0;
          choices = Math.max(choices, index + 1);
          if (index !== 0) continue;
          answer += choice.delta?.content ?? '';
          if (choice.delta?.tool_calls) finish = 'tool_calls';
          if (choice.finish_reason) finish = finish === 'tool_calls' ? finish : choice.finish_reason;
        }
      }
      if (watchdog.timedOut) failure = upstreamFailure(undefined, true, upstream.timeoutMs);
      else if (finish === null && !clientGone)
        failure = notACompletion(started ? 'its stream ended without a finish_reason' : 'its stream had no chunk');
    } catch (error) {
      const refusal = started ? undefined : upstreamRefusal(error, upstream.apiKey !== undefined && upstream.apiKey !== '');
      if (refusal) return refuse(reply, request, refusal, status);
      failure = upstreamFailure(error, watchdog.timedOut, upstream.timeoutMs);
    } finally {
      watchdog.stop();
      stopUpstream();
    }
    if (clientGone) {
      if (!started) reply.hijack();
      reply.raw.destroy();
      return undefined;
    }
    if (failure && !started) throw failure;
    if (failure) {
      logger.warn({ reqId: request.id, err: failure }, 'upstream stream broke off');
      reply.raw.end(streamErrorEvent(failure));
      return undefined;
    }
    reply.raw.end('data: [DONE]\n\n');
    if (finish === 'stop' && choices === 1) remember(resolved, request.id, answer, miss, directives);
    return undefined;
  };

  const completeMiss = async (
    reply: FastifyReply,
    request: FastifyRequest,
    body: ChatBody,
    resolved: ResolvedRequest,
    miss: CacheMissEvent | null,
    status: 'miss' | 'bypass',
    directives: CacheDirectives,
  ): Promise<FastifyReply> => {
    const client = upstreamClient(request);
    const watchdog = new SilenceWatchdog(upstream.timeoutMs);
    const stopUpstream = metrics.time('upstream');
    let completion: unknown;
    try {
      completion = await client.chat.completions.create(
        { ...(body as unknown as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming), stream: false },
        { signal: watchdog.signal },
      );
    } catch (error) {
      const refusal = upstreamRefusal(error, upstream.apiKey !== undefined && upstream.apiKey !== '');
      if (refusal) return refuse(reply, request, refusal, status);
      throw upstreamFailure(error, watchdog.timedOut, upstream.timeoutMs);
    } finally {
      watchdog.stop();
      stopUpstream();
    }
    if (!isChatCompletion(completion)) throw notACompletion('its answer is not a chat completion');
    const [choice] = completion.choices;
    if (
      completion.choices.length === 1 &&
      choice?.finish_reason === 'stop' &&
      typeof choice.message?.content === 'string' &&
      !choice.message.tool_calls?.length
    ) {
      remember(resolved, request.id, choice.message.content, miss, directives);
    }
    return reply.headers({ 'x-llmcache': status, ...requestIdHeaders(request) }).send(completion);
  };

  app.post<{ Body: ChatBody }>(
    '/v1/chat/completions',
    {
      config: { role: 'reader' },
      schema: {
        summary: 'OpenAI-compatible chat completion, answered from the cache when a close enough request was answered before',
        tags: ['openai'],
        body: chatBodySchema,
        response: { 200: chatReplySchema, ...ERROR_REPLIES, ...UPSTREAM_REPLIES },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const split = splitConversation(body.messages);
      const directives = parseCacheControl(request.headers['cache-control']);
      const hot = typeof body.temperature === 'number' && body.temperature > temperature.above && temperature.action !== 'cache';
      if (hot) {
        directives.noCache = true;
        if (temperature.action === 'bypass') directives.noStore = true;
      }
      const threshold = headerNumber(request, 'x-llmcache-threshold');
      const namespace = headerNamespace(request) ?? defaults.namespace;
      if (split.text === '') {
        if (!body.messages.some((m) => m.role === 'user')) throw badRequest('messages must contain a user message');
        // A user turn without text (only images, say) has nothing to match on: answered upstream, never stored.
        directives.noStore = true;
      }
      const resolved = cache.resolve({
        tenant: tenantOf(request, defaults.tenant),
        namespace,
        model: body.model,
        params: chatParams(body, split.system),
        contextHash: split.contextHash,
        text: split.text,
      });
      let miss: CacheMissEvent | null = null;
      let status: 'miss' | 'bypass' = 'bypass';
      if (!directives.noCache && split.text !== '') {
        const result = await cache.lookup(resolved, {
          requestId: request.id,
          ...(threshold === undefined ? {} : { threshold }),
          ...(directives.maxAgeSeconds === undefined ? {} : { minCreatedAt: Date.now() - directives.maxAgeSeconds * 1000 }),
        });
        if (result.hit) return answerFromCache(reply, request, body, resolved, result);
        miss = result.miss;
        status = 'miss';
        if (miss?.verify?.explored) metrics.explorationUpstreamCalls.inc({ namespace });
      }
      if (body.stream) return streamMiss(reply, request, body, resolved, miss, status, directives);
      return completeMiss(reply, request, body, resolved, miss, status, directives);
    },
  );
}
