import { hash } from 'node:crypto';

/** Collapses whitespace and trims; the text that is embedded and keyed. Case is kept for the model. */
export function normalizeText(text: string): string {
  return text.normalize('NFKC').replace(/\s+/g, ' ').trim();
}

/** Key form of a text for exact matching: normalized and lower-cased. */
export function exactKeyText(text: string): string {
  return normalizeText(text).toLowerCase();
}

/** SHA-256 in hex, one-shot (several times cheaper per call than a createHash object). */
export function sha256Hex(input: string): string {
  return hash('sha256', input, 'hex');
}

/** JSON with object keys sorted at every depth, so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
