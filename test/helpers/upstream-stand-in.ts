import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

export interface StandInCall {
  body: Record<string, unknown>;
  authorization: string | undefined;
}

/** A scripted misbehaviour for one call, for tests of upstream failures. */
export type StandInFault =
  /** Any status, headers and body (a string is sent as is, anything else as JSON). */
  | { kind: 'reply'; status: number; headers?: Record<string, string>; body: unknown }
  /** A stream of only `data: [DONE]`. */
  | { kind: 'done-only' }
  /** A stream of `chunks` content chunks, then `end`: the connection cut, silence, an error event, or [DONE] without a finish_reason. */
  | { kind: 'stream'; chunks: number; end: 'cut' | 'stall' | 'error-event' | 'no-finish' }
  /** No answer at all: the request is read and the response never begins. */
  | { kind: 'hang' };

export interface UpstreamStandIn {
  url: string;
  calls: StandInCall[];
  /** How the next answers end: 'stop' (default), 'length', or 'abort' (the stream breaks off). */
  finish: 'stop' | 'length' | 'abort';
  /** Delay between streamed chunks. */
  chunkDelayMs: number;
  /**
   * When set, every call fails with this status and an error message that quotes the credential it
   * received, as some providers do: the cache must not pass that text on.
   */
  failStatus: number | null;
  /** When set, the answer to a question (the default names the call and echoes the question). */
  answer: ((question: string) => string) | null;
  /** Misbehaviours for the next calls, one a call, first in first out; then calls are answered normally again. */
  faults: StandInFault[];
}

const readBody = async (request: IncomingMessage): Promise<string> => {
  let text = '';
  for await (const chunk of request) text += chunk;
  return text;
};

const lastUserText = (body: Record<string, unknown>): string => {
  const messages = (body.messages as Array<{ role: string; content: unknown }>) ?? [];
  const last = [...messages].reverse().find((m) => m.role === 'user');
  return typeof last?.content === 'string' ? last.content : '';
};

async function misbehave(response: ServerResponse, fault: StandInFault, id: string, model: string): Promise<void> {
  if (fault.kind === 'hang') return;
  if (fault.kind === 'reply') {
    const text = typeof fault.body === 'string' ? fault.body : JSON.stringify(fault.body);
    response.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers }).end(text);
    return;
  }
  response.writeHead(200, { 'content-type': 'text/event-stream' });
  if (fault.kind === 'done-only') {
    response.end('data: [DONE]\n\n');
    return;
  }
  const created = Math.floor(Date.now() / 1000);
  for (let i = 0; i < fault.chunks; i++) {
    const delta = i === 0 ? { role: 'assistant', content: 'Part ' } : { content: `${i} ` };
    response.write(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`,
    );
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  if (fault.end === 'cut') response.destroy();
  else if (fault.end === 'error-event')
    response.end('data: {"error":{"message":"The server had an error while processing your request.","type":"server_error"}}\n\n');
  else if (fault.end === 'no-finish') response.end('data: [DONE]\n\n');
  // 'stall': the stream stays open and silent until the stand-in closes
}

/**
 * A local OpenAI-compatible chat model for tests (the hosted API cannot be reached here). It answers
 * `Answer #<n> to: <question>` so a test can tell which call produced an answer, and streams it word
 * by word with a delay between chunks.
 */
export async function startUpstreamStandIn(t: TestContext | { after: (fn: () => Promise<void>) => void }): Promise<UpstreamStandIn> {
  const state: UpstreamStandIn = { url: '', calls: [], finish: 'stop', chunkDelayMs: 20, failStatus: null, answer: null, faults: [] };
  const server: Server = createServer(async (request, response) => {
    if (request.method !== 'POST' || !request.url?.endsWith('/chat/completions')) {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
      return;
    }
    const body = JSON.parse(await readBody(request)) as Record<string, unknown>;
    state.calls.push({ body, authorization: request.headers.authorization });
    const fault = state.faults.shift();
    if (fault) {
      await misbehave(response, fault, `chatcmpl-standin-${state.calls.length}`, String(body.model));
      return;
    }
    if (state.failStatus !== null) {
      const message = `Incorrect API key provided: ${request.headers.authorization ?? '(none)'}`;
      response
        .writeHead(state.failStatus, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { message, type: 'invalid_request_error' } }));
      return;
    }
    const answer = state.answer?.(lastUserText(body)) ?? `Answer #${state.calls.length} to: ${lastUserText(body)}`;
    const finish = state.finish;
    const id = `chatcmpl-standin-${state.calls.length}`;
    const created = Math.floor(Date.now() / 1000);
    const model = String(body.model);
    if (!body.stream) {
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id,
          object: 'chat.completion',
          created,
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: finish === 'abort' ? 'stop' : finish }],
          usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
        }),
      );
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    const send = (delta: Record<string, unknown>, finishReason: string | null): void => {
      response.write(
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`,
      );
    };
    send({ role: 'assistant', content: '' }, null);
    const words = answer.split(/(?<= )/);
    for (const [i, word] of words.entries()) {
      if (finish === 'abort' && i === Math.floor(words.length / 2)) {
        response.destroy();
        return;
      }
      send({ content: word }, null);
      await new Promise((resolve) => setTimeout(resolve, state.chunkDelayMs));
    }
    send({}, finish === 'length' ? 'length' : 'stop');
    response.end('data: [DONE]\n\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return state;
}
