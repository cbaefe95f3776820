import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import type { TextWindow } from '@llm-cache/core';
import { TOKENIZER_FILE } from './model-files.ts';

/** Longest input the local model is fed, in tokens, [CLS] and [SEP] included. */
export const MAX_TOKENS = 128;
const CUT_CHARS = new Set([' ', '\n', '\t', '\r']);

/** Printable ASCII without a word longer than WordPiece reads (100 characters): every character is in the vocabulary. */
const PLAIN = /^[\x20-\x7e]*$/;
const LONG_WORD = /[^ ]{101}/;

function isPlain(text: string): boolean {
  return PLAIN.test(text) && !LONG_WORD.test(text);
}

/**
 * The local model's window, counted with its own WordPiece tokenizer. Short prompts are never
 * tokenized just to be measured: plain ASCII is at most one token a character, and no character
 * makes more than three tokens (Hangul syllables decompose into three jamo), so texts of at most a
 * quarter of the window in characters fit whatever they hold.
 */
export class TokenWindow implements TextWindow {
  readonly #anyChars: number;
  readonly maxChars: number;
  readonly #unknownId: number;
  /** The last text tokenized and its ids (read only by the callers). */
  #last: { text: string; ids: number[] } | undefined;

  constructor(
    readonly tokenizer: Tokenizer,
    readonly maxTokens: number = MAX_TOKENS,
  ) {
    this.#anyChars = Math.floor((maxTokens - 2) / 4);
    this.maxChars = maxTokens * 12;
    this.#unknownId = tokenizer.token_to_id('[UNK]') ?? 100;
  }

  /** Loads only the tokenizer of the model in `modelDir` (the gateway needs no model to measure texts). */
  static async load(modelDir: string, maxTokens = MAX_TOKENS): Promise<TokenWindow> {
    const tokenizer = new Tokenizer(JSON.parse(await readFile(join(modelDir, TOKENIZER_FILE), 'utf8')), {});
    return new TokenWindow(tokenizer, maxTokens);
  }

  /**
   * Texts over 12 characters a token are taken not to fit without being tokenized: only long words (the
   * model reads over 100 characters as one unknown token) could fit there, and too long is the safe side
   * (they must then match exactly). So measuring a request never tokenizes more than a few KB.
   */
  fits(text: string): boolean {
    if (text.length <= this.#anyChars || (text.length <= this.maxTokens - 2 && isPlain(text))) return true;
    if (text.length > this.maxChars) return false;
    return this.headIds(text).length <= this.maxTokens;
  }

  /**
   * Words the model reads as [UNK] (characters outside its vocabulary such as emoji, or words over
   * 100 characters): two texts differing only there get one vector, so they must match exactly.
   */
  unseen(text: string): string[] {
    if (isPlain(text) || !this.headIds(text).includes(this.#unknownId)) return [];
    return text.split(' ').filter((word) => this.tokenizer.encode(word).ids.includes(this.#unknownId));
  }

  /**
   * Token ids of the text's start, [CLS] and [SEP] included: all of them when the text fits, and
   * more than `maxTokens` otherwise. The tokenizer does not truncate, so growing prefixes cut at
   * whitespace (which tokenize to a prefix of the full token list) are encoded until one alone
   * overflows; a long text is never tokenized whole just to learn that it does not fit.
   */
  headIds(text: string): number[] {
    // One text is measured, then checked for unknown words or embedded: it is tokenized once.
    if (this.#last?.text === text) return this.#last.ids;
    const ids = this.#encodeHead(text);
    this.#last = { text, ids };
    return ids;
  }

  #encodeHead(text: string): number[] {
    // About six characters a token: the first prefix already overflows for ordinary text.
    for (let window = this.maxTokens * 6; ; window *= 2) {
      let cut = text.length;
      if (window < text.length) {
        cut = window;
        while (cut > 0 && !CUT_CHARS.has(text[cut] as string)) cut -= 1;
      }
      if (cut > 0 || window >= text.length) {
        const ids = this.tokenizer.encode(cut === text.length ? text : text.slice(0, cut)).ids;
        if (ids.length > this.maxTokens || cut === text.length) return ids;
      }
    }
  }
}
