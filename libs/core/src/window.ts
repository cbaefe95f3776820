import { sha256Hex } from './text.ts';

/** How much text an embedding model reads; what lies beyond it never reaches the vector. */
export interface TextWindow {
  /** The model's input limit in tokens (special tokens included), for messages. */
  readonly maxTokens: number;
  /** Whether the model reads all of `text` (normalized). */
  fits(text: string): boolean;
  /** Words of a fitting text that the model cannot tell apart (read as an unknown token); usually none. */
  unseen(text: string): string[];
}

/** What of a text the embedding covers, and what must match exactly instead. */
export interface TextCoverage {
  /** The part that is embedded: the whole text when it fits the window, otherwise its tail. */
  embedded: string;
  /** What must match exactly: everything before the embedded part, and the embedded part's unseen words; '' when none. */
  exact: string;
}

/** Sentence ends in normalized text (whitespace collapsed): a stop, a question or exclamation mark, a colon. */
const SENTENCE_END = /[.?!:;。？！](?:["')\]]*) /g;

/**
 * Splits a normalized text into what the embedding covers and what must match exactly.
 *
 * A text that fits the window is embedded whole. A longer one is embedded from its last sentence
 * (the question after a shared context, in the usual prompt), and everything before that sentence
 * must match exactly. When even the last sentence does not fit, the whole text must match exactly
 * and its longest fitting tail is embedded, so the vector never silently stands for a part of the
 * text. The split point depends only on the text's own sentences, so a paraphrased question after
 * the same context splits at the same place.
 */
export function coverText(text: string, window: TextWindow): TextCoverage {
  const { embedded, before } = splitAtWindow(text, window);
  const unseen = window.unseen(embedded);
  return { embedded, exact: unseen.length === 0 ? before : `${before}\u0000unseen:${unseen.join(' ')}` };
}

function splitAtWindow(text: string, window: TextWindow): { embedded: string; before: string } {
  if (window.fits(text)) return { embedded: text, before: '' };
  let start = 0;
  for (const match of text.matchAll(SENTENCE_END)) {
    const end = match.index + match[0].length;
    if (end < text.length) start = end;
  }
  const last = text.slice(start);
  if (start > 0 && last !== '' && window.fits(last)) return { embedded: last, before: text.slice(0, start).trimEnd() };
  return { embedded: longestFittingTail(text, window), before: text };
}

/** The longest tail of whole words that fits the window (one word's tail when none does). */
function longestFittingTail(text: string, window: TextWindow): string {
  const starts = [0];
  for (let i = text.indexOf(' '); i >= 0; i = text.indexOf(' ', i + 1)) starts.push(i + 1);
  // Binary search over word starts: a later start gives a shorter tail, and shorter tails fit.
  let lo = 1;
  let hi = starts.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (window.fits(text.slice(starts[mid]))) {
      best = mid;
      hi = mid - 1;
    } else {
      lo = mid + 1;
    }
  }
  if (best >= 0) return text.slice(starts[best]);
  const lastWord = text.slice(starts[starts.length - 1]);
  return lastWord.slice(Math.max(0, lastWord.length - window.maxTokens / 2));
}

/**
 * The context digest of a request whose text was split: the earlier turns' digest and the exact
 * part of the text together, so both must be equal for two requests to share a scope.
 */
export function coveredContextHash(contextHash: string, exact: string): string {
  if (exact === '') return contextHash;
  return sha256Hex(`${contextHash}\u0000text-before:${exact}`).slice(0, 32);
}

/**
 * A window counted in UTF-8 bytes, which never undercounts a byte-level BPE tokenizer (each token
 * covers at least one byte, and every byte has a token, so nothing is unseen).
 */
export function byteWindow(maxTokens: number): TextWindow {
  return { maxTokens, fits: (text) => Buffer.byteLength(text, 'utf8') <= maxTokens, unseen: () => [] };
}
