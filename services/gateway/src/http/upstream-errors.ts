import type { FastifyReply } from 'fastify';
import OpenAI from 'openai';
import { CacheError } from '@llm-cache/core';

type ChatCompletion = OpenAI.Chat.Completions.ChatCompletion;
type ChatCompletionChunk = OpenAI.Chat.Completions.ChatCompletionChunk;

/** The headers of a refusal that tell the caller when, or whether, to try again. */
const RETRY_HEADERS = ['retry-after', 'retry-after-ms', 'x-should-retry'] as const;
const MAX_MESSAGE_LENGTH = 2000;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * An upstream 4xx: the model refused this request, and would refuse it again, so the caller gets the
 * model's status, its retry headers and its error object (OpenAI's `{message, type, param, code}`),
 * with `code` and `message` always set as in every error of this API.
 */
export interface UpstreamRefusal {
  status: number;
  headers: Record<string, string>;
  error: Record<string, unknown> & { code: string; message: string };
}

/**
 * `ownCredentials`: the gateway called with its own upstream key. A 401 or 403 then says nothing about
 * the caller (whose token was ours), so it keeps its status but gets a fixed message, which also
 * keeps any masked form of the key a provider quotes back out of the answer.
 */
export function upstreamRefusal(error: unknown, ownCredentials: boolean): UpstreamRefusal | undefined {
  if (!(error instanceof OpenAI.APIError) || error.status === undefined || error.status < 400 || error.status > 499) return undefined;
  if (ownCredentials && (error.status === 401 || error.status === 403)) {
    return {
      status: error.status,
      headers: {},
      error: {
        code: 'LLMCACHE_UPSTREAM_REJECTED',
        message: `the model provider refused the gateway's own credentials (HTTP ${error.status}); the operator should check upstream.apiKey`,
      },
    };
  }
  const body: unknown = error.error;
  const fields = isRecord(body) ? { ...body } : {};
  const message =
    typeof fields.message === 'string' && fields.message !== ''
      ? fields.message
      : typeof body === 'string' && body !== ''
        ? body
        : fields.message !== undefined && fields.message !== null
          ? JSON.stringify(fields.message)
          : error.message;
  const code =
    typeof fields.code === 'string' && fields.code !== ''
      ? fields.code
      : typeof fields.code === 'number'
        ? String(fields.code)
        : 'LLMCACHE_UPSTREAM_REJECTED';
  const headers: Record<string, string> = {};
  for (const name of RETRY_HEADERS) {
    const value = error.headers?.get(name);
    if (value) headers[name] = value;
  }
  return { status: error.status, headers, error: { ...fields, code, message: message.slice(0, MAX_MESSAGE_LENGTH) } };
}

/** Answers a refusal; the error handler's serialization hook scrubs every secret from its body. */
export function sendRefusal(reply: FastifyReply, refusal: UpstreamRefusal, cacheStatus: 'miss' | 'bypass'): FastifyReply {
  return reply
    .status(refusal.status)
    .headers({ ...refusal.headers, 'x-llmcache': cacheStatus })
    .type('application/json')
    .send({ error: refusal.error });
}

/**
 * What a failed upstream call becomes: 504 when the model stayed silent for `timeoutMs`, else 502
 * (no connection, a 5xx, a broken body or stream). Its message names no upstream text, which may
 * quote a credential; the cause keeps it for the log.
 */
export function upstreamFailure(error: unknown, timedOut: boolean, timeoutMs: number): CacheError {
  if (error instanceof CacheError) return error;
  if (timedOut || error instanceof OpenAI.APIConnectionTimeoutError) {
    return new CacheError('LLMCACHE_UPSTREAM_TIMEOUT', `upstream model sent nothing for ${timeoutMs} ms`, { cause: error });
  }
  const detail =
    error instanceof OpenAI.APIConnectionError
      ? ' (no connection)'
      : error instanceof OpenAI.APIUserAbortError
        ? ' (aborted)'
        : error instanceof OpenAI.APIError && error.status !== undefined
          ? ` (status ${error.status})`
          : error instanceof OpenAI.APIError
            ? ' (an error event in its stream)'
            : ' (not a chat completion)';
  return new CacheError('LLMCACHE_UPSTREAM', `upstream model call failed${detail}`, { cause: error });
}

export const notACompletion = (what: string): CacheError => new CacheError('LLMCACHE_UPSTREAM', `upstream model call failed (${what})`);

/** The last event of a stream that broke after its first chunk was sent: the error, then the end (no [DONE]). */
export const streamErrorEvent = (error: CacheError): string =>
  `data: ${JSON.stringify({ error: { code: error.code, message: error.message } })}\n\n`;

export function isChatCompletion(value: unknown): value is ChatCompletion {
  return isRecord(value) && Array.isArray(value.choices) && value.choices.every((choice) => isRecord(choice) && isRecord(choice.message));
}

export function isChatChunk(value: unknown): value is ChatCompletionChunk {
  return isRecord(value) && Array.isArray(value.choices) && value.choices.every(isRecord);
}

/**
 * Aborts an upstream call once it has been silent for `ms`: the whole call when nothing touches it,
 * the gap between two chunks of a stream when each chunk does. The client library's own timeout only
 * covers the wait for the response headers.
 */
export class SilenceWatchdog {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout;
  timedOut = false;

  constructor(private readonly ms: number) {
    this.timer = this.arm();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  touch(): void {
    clearTimeout(this.timer);
    this.timer = this.arm();
  }

  /** Ends the call now (the client went away); not a timeout. */
  abort(): void {
    clearTimeout(this.timer);
    this.controller.abort();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private arm(): NodeJS.Timeout {
    return setTimeout(() => {
      this.timedOut = true;
      this.controller.abort();
    }, this.ms);
  }
}
