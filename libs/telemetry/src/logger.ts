import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

const MIN_SECRET_LENGTH = 4;

/**
 * Replaces every occurrence of the given secrets in a text with `[redacted]`. Used on each log line
 * and on error messages sent to clients, so a secret echoed by a library or a server never leaves.
 */
export function secretScrubber(secrets: readonly string[]): (text: string) => string {
  const list = [...new Set(secrets.filter((secret) => secret.length >= MIN_SECRET_LENGTH))].sort((a, b) => b.length - a.length);
  if (list.length === 0) return (text) => text;
  const escaped = list.map((secret) => secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  // JSON encoding may have escaped characters of a secret; match its JSON form too.
  const jsonForms = list.map((secret) => JSON.stringify(secret).slice(1, -1)).filter((form) => !list.includes(form));
  const pattern = new RegExp([...escaped, ...jsonForms.map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))].join('|'), 'g');
  return (text) =>
    list.some((secret) => text.includes(secret)) || jsonForms.some((f) => text.includes(f)) ? text.replace(pattern, '[redacted]') : text;
}

/** Structured JSON logs on stderr; secrets in these paths, and the given secret values anywhere, are never printed. */
export function createLogger(options: { level?: LevelWithSilent; name?: string; secrets?: readonly string[] } = {}): Logger {
  const destination = pino.destination({ fd: 2, sync: false });
  const scrub = secretScrubber(options.secrets ?? []);
  const stream: DestinationStream =
    (options.secrets ?? []).length === 0
      ? destination
      : ({
          write: (line: string) => destination.write(scrub(line)),
          flush: () => destination.flush(),
        } as DestinationStream);
  return pino(
    {
      name: options.name ?? 'llm-cache',
      level: options.level ?? 'info',
      redact: {
        paths: ['apiKey', '*.apiKey', 'authorization', 'headers.authorization', 'req.headers.authorization', '*.*.apiKey'],
        censor: '[redacted]',
      },
    },
    stream,
  );
}
