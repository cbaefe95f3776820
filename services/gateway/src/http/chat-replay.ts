/** Builds OpenAI chat.completion objects and SSE chunks for answers served from the cache. */

/** A rough token count (about four characters a token) for the usage fields of cached answers. */
export const estimateTokens = (text: string): number => Math.max(1, Math.ceil(text.length / 4));

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usageOf(promptText: string, answer: string): Usage {
  const prompt = estimateTokens(promptText);
  const completion = estimateTokens(answer);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

export function cachedCompletion(id: string, model: string, answer: string, usage: Usage): Record<string, unknown> {
  return {
    id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: answer, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage,
    system_fingerprint: 'llm-cache',
  };
}

/** Splits an answer into chunks of a few words, the way a model streams. */
export function splitForStream(answer: string, wordsPerChunk = 4): string[] {
  const words = answer.match(/\S+\s*|\s+/g) ?? [];
  const chunks: string[] = [];
  for (let i = 0; i < words.length; i += wordsPerChunk) chunks.push(words.slice(i, i + wordsPerChunk).join(''));
  return chunks;
}

/** The SSE events (without the trailing [DONE]) that replay a cached answer. */
export function cachedStreamEvents(id: string, model: string, answer: string, usage: Usage | null): string[] {
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: Record<string, unknown>, finish: string | null, extra: Record<string, unknown> = {}): string =>
    JSON.stringify({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      system_fingerprint: 'llm-cache',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...extra,
    });
  const events = [chunk({ role: 'assistant', content: '' }, null)];
  for (const piece of splitForStream(answer)) events.push(chunk({ content: piece }, null));
  events.push(chunk({}, 'stop'));
  if (usage) {
    events.push(
      JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'llm-cache', choices: [], usage }),
    );
  }
  return events;
}
