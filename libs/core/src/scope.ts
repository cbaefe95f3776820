import { canonicalJson, normalizeText, sha256Hex } from './text.ts';
import type { Scope } from './types.ts';

/**
 * OpenAI chat parameters that change the output. Two requests only share a scope when all of these
 * (and the system prompt) are equal; anything else in a request body (user, metadata, stream...) does
 * not split the cache.
 */
export const OUTPUT_AFFECTING_PARAMS = [
  'temperature',
  'top_p',
  'max_tokens',
  'max_completion_tokens',
  'n',
  'stop',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'logit_bias',
  'tools',
  'tool_choice',
  'functions',
  'function_call',
  'response_format',
  'reasoning_effort',
  'modalities',
] as const;

/** Hash of the output-affecting parameters; the empty parameter set hashes to a fixed value. */
export function hashParams(params: Record<string, unknown> | undefined): string {
  return sha256Hex(canonicalJson(params ?? {})).slice(0, 32);
}

/** The scope key: the partition key of every event and the filter of every vector search. */
export function scopeKeyOf(scope: Scope): string {
  return sha256Hex([scope.tenant, scope.namespace, scope.model, scope.paramsHash, scope.contextHash].join('\u0000')).slice(0, 32);
}

/** Entry ids are derived from scope and text, so storing the same prompt again replaces its entry. */
export function entryIdOf(scopeKey: string, text: string): string {
  return sha256Hex(`${scopeKey}\u0000${normalizeText(text)}`).slice(0, 32);
}

export interface ChatMessage {
  role: string;
  content?: unknown;
  name?: string;
  tool_calls?: unknown;
  tool_call_id?: string;
}

/** Text of a message's content: a string, or the text parts of a content array. */
export function messageText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) =>
        part && typeof part === 'object' && (part as { type?: unknown }).type === 'text'
          ? String((part as { text?: unknown }).text ?? '')
          : '',
      )
      .join('\n');
  }
  return '';
}

export interface SplitConversation {
  /** The current (last) user turn, normalized: the text that is embedded. */
  text: string;
  /** System prompt(s), normalized; part of the output-affecting parameters. */
  system: string;
  /** Digest of every turn before the current one; empty for a single-turn request. */
  contextHash: string;
}

/**
 * Splits a chat into what is embedded (the last user turn), what joins the parameters (system
 * prompts) and what must match exactly (the digest of the turns before).
 */
export function splitConversation(messages: readonly ChatMessage[]): SplitConversation {
  let last = -1;
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]?.role === 'user') {
      last = i;
      break;
    }
  }
  const system = messages
    .filter((m) => m.role === 'system' || m.role === 'developer')
    .map((m) => normalizeText(messageText(m.content)))
    .join('\n');
  const context = messages
    .filter((m, i) => i !== last && m.role !== 'system' && m.role !== 'developer')
    .map((m) => ({
      role: m.role,
      content: normalizeText(messageText(m.content)),
      tool_calls: m.tool_calls ?? null,
      tool_call_id: m.tool_call_id ?? null,
    }));
  return {
    text: last >= 0 ? normalizeText(messageText(messages[last]?.content)) : '',
    system,
    contextHash: context.length === 0 ? '' : sha256Hex(canonicalJson(context)).slice(0, 32),
  };
}
