import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Code logs ids and counts only; the redaction list is a second line of
 * defence should a user record ever reach a log call.
 */
export function createLogger(level: string, name = 'audience-sync'): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: [
        'email',
        '*.email',
        'first_name',
        '*.first_name',
        'last_name',
        '*.last_name',
        'full_name',
        '*.full_name',
        'req.headers.authorization',
      ],
      censor: '[redacted]',
    },
  });
}
