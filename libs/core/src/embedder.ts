import type { TextWindow } from './window.ts';

/** Turns texts into L2-normalized vectors. The only place a model runs. */
export interface Embedder {
  /** Identifies the vector space: vectors from different fingerprints are never compared. */
  readonly fingerprint: string;
  readonly dimensions: number;
  /** What the model reads of a text: longer texts are split by the gateway (see coverText). */
  readonly window: TextWindow;
  /** Embeds texts in order; one vector per text, each of length `dimensions`, L2-normalized. */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  close(): Promise<void>;
}
