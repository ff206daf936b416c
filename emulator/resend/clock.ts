import type { Micros } from '../common/clock.js';

/**
 * Timestamps in the text form Postgres gives `timestamptz` in UTC, as the API returns them:
 * `2025-11-30 20:39:59.540771+00` (microseconds, trailing zeros trimmed).
 */
export function formatPostgresTimestamp(epochMicros: Micros): string {
  const millis = Math.floor(epochMicros / 1000);
  const iso = new Date(millis).toISOString();
  const fraction = String(epochMicros % 1_000_000)
    .padStart(6, '0')
    .replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${fraction}` : ''}+00`;
}

const POSTGRES_TIMESTAMP = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?\+00$/;

/** Reads the Postgres form (keeping microseconds) or anything `Date.parse` reads. */
export function parseTimestamp(input: string): Micros | undefined {
  const postgres = POSTGRES_TIMESTAMP.exec(input);
  if (postgres) {
    const seconds = Date.parse(`${postgres[1]}T${postgres[2]}Z`);
    return Number.isNaN(seconds)
      ? undefined
      : seconds * 1000 + Number((postgres[3] ?? '').padEnd(6, '0'));
  }
  const millis = Date.parse(input);
  return Number.isNaN(millis) ? undefined : millis * 1000;
}
