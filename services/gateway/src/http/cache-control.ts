/** The request Cache-Control directives LLM-Cache honours. */
export interface CacheDirectives {
  /** Skip the read; still write the answer. */
  noCache: boolean;
  /** Do not write the answer. */
  noStore: boolean;
  /** Ignore entries older than this many seconds. */
  maxAgeSeconds: number | undefined;
}

export function parseCacheControl(header: string | string[] | undefined): CacheDirectives {
  const directives: CacheDirectives = { noCache: false, noStore: false, maxAgeSeconds: undefined };
  const value = Array.isArray(header) ? header.join(',') : (header ?? '');
  for (const part of value.split(',')) {
    const [name = '', argument] = part.trim().toLowerCase().split('=', 2);
    if (name === 'no-cache') directives.noCache = true;
    else if (name === 'no-store') directives.noStore = true;
    else if (name === 'max-age' && argument !== undefined && /^\d{1,10}$/.test(argument)) directives.maxAgeSeconds = Number(argument);
  }
  return directives;
}
