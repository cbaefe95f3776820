import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

export interface StandInCall {
  body: Record<string, unknown>;
  authorization: string | undefined;
}

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

/**
 * A local OpenAI-compatible chat model for tests (the hosted API cannot be reached here). It answers
 * `Answer #<n> to: <question>` so a test can tell which call produced an answer, and streams it word
 * by word with a delay between chunks.
 */
export async function startUpstreamStandIn(t: TestContext | { after: (fn: () => Promise<void>) => void }): Promise<UpstreamStandIn> {
  const state: UpstreamStandIn = { url: '', calls: [], finish: 'stop', chunkDelayMs: 20, failStatus: null, answer: null };
  const server: Server = createServer(async (request, response) => {
    if (request.method !== 'POST' || !request.url?.endsWith('/chat/completions')) {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
      return;
    }
    const body = JSON.parse(await readBody(request)) as Record<string, unknown>;
    state.calls.push({ body, authorization: request.headers.authorization });
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
