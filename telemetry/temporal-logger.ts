import { DefaultLogger, type LogLevel } from '@temporalio/worker';
import type { Logger } from './logger.js';

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

const temporalLevel = (level: string): LogLevel => {
  const upper = level.toUpperCase();
  return upper in LEVELS
    ? (upper as LogLevel)
    : upper === 'SILENT' || upper === 'FATAL'
      ? 'ERROR'
      : 'INFO';
};

/** Sends the Temporal SDK's logs (worker, workflow `log`, activity `log`) through our logger. */
export function temporalLogger(logger: Logger, level: string): DefaultLogger {
  return new DefaultLogger(temporalLevel(level), (entry) => {
    logger[LEVELS[entry.level]]({ ...entry.meta, source: 'temporal' }, entry.message);
  });
}
