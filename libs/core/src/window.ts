import { sha256Hex } from './text.ts';

/** How much text an embedding model reads; what lies beyond it never reaches the vector. */
export interface TextWindow {
  /** The model's input limit in tokens (special tokens included), for messages. */
  readonly maxTokens: number;
  /** No text longer than this, in UTF-16 code units, fits. */
  readonly maxChars: number;
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

/**
 * Sentence ends in normalized text (whitespace collapsed): a stop, question or exclamation mark,
 * colon or semicolon followed by a space, or a full-width (CJK) one, which needs no space.
 */
const SENTENCE_END = /[.?!:;]["')\]]* |[。？！；：]["')\]」』）]* ?/g;

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

/**
 * The longest tail of whole words that fits the window; when not even the last word fits, the
 * longest tail of it that does, cut between code points (never inside a surrogate pair).
 */
function longestFittingTail(text: string, window: TextWindow): string {
  // Only the last maxChars can fit: look no further back (a long body is never searched whole).
  const from = Math.max(0, text.length - window.maxChars);
  const wordStarts = [from];
  for (let i = text.indexOf(' ', from); i >= 0; i = text.indexOf(' ', i + 1)) wordStarts.push(i + 1);
  const words = latestFitting(text, wordStarts.slice(1), window);
  if (words !== null) return text.slice(words);
  const lastWord = wordStarts[wordStarts.length - 1] as number;
  const codePoints: number[] = [];
  for (let i = lastWord + 1; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    if (unit < 0xdc00 || unit > 0xdfff) codePoints.push(i);
  }
  const cut = latestFitting(text, codePoints, window);
  return cut === null ? '' : text.slice(cut);
}

/**
 * The earliest of the ascending `starts` whose tail fits, by binary search (a later start gives a
 * shorter tail, and shorter tails fit); null when none does.
 */
function latestFitting(text: string, starts: readonly number[], window: TextWindow): number | null {
  let lo = 0;
  let hi = starts.length - 1;
  let best: number | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const start = starts[mid] as number;
    if (window.fits(text.slice(start))) {
      best = start;
      hi = mid - 1;
    } else {
      lo = mid + 1;
    }
  }
  return best;
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
  return {
    maxTokens,
    maxChars: maxTokens,
    fits: (text) => text.length <= maxTokens && Buffer.byteLength(text, 'utf8') <= maxTokens,
    unseen: () => [],
  };
}
