import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** Structured JSON logs on stderr; secrets in these paths are never printed. */
export function createLogger(options: { level?: LevelWithSilent; name?: string } = {}): Logger {
  return pino(
    {
      name: options.name ?? 'llm-cache',
      level: options.level ?? 'info',
      redact: {
        paths: ['apiKey', '*.apiKey', 'authorization', 'headers.authorization', 'req.headers.authorization', '*.*.apiKey'],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd: 2, sync: false }),
  );
}
