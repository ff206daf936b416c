import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /**
   * Each line is written before the log call returns. For a process that ends itself with
   * process.exit: lines written asynchronously can still be in flight then, and the exit-time
   * flush writes the later ones past them, so the output shows them out of order.
   */
  sync?: boolean;
  /** File descriptor the lines go to; stdout when absent. */
  fd?: number;
}

/**
 * Structured JSON logs. Code logs ids and counts only; the redaction list is a second line of
 * defence should a user record ever reach a log call.
 */
export function createLogger(
  level: string,
  name = 'audience-sync',
  options: LoggerOptions = {},
): Logger {
  const destination: DestinationStream | undefined =
    options.sync || options.fd !== undefined
      ? pino.destination({ dest: options.fd ?? 1, sync: options.sync ?? false })
      : undefined;
  return pino(
    {
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
    },
    destination,
  );
}
