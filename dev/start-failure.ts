import { userInfo } from 'node:os';

/** Ports the local stack opens, by the variable that moves each. */
export type StackPorts = Record<string, number>;

interface SystemError extends Error {
  code?: string;
  syscall?: string;
  port?: number;
  path?: string;
}

const isSystemError = (error: unknown): error is SystemError =>
  error instanceof Error && typeof (error as SystemError).code === 'string';

/**
 * The one message `npm run dev` ends with when it could not start: the cause and the fix. Errors
 * written for the user (configuration, Temporal CLI, Postgres set-up) say both already; the few
 * system errors people meet are explained here.
 */
export function describeStartFailure(error: unknown, ports: StackPorts): string {
  const message = error instanceof Error ? error.message : String(error);
  const prefix = 'audience-sync could not start:';
  if (!isSystemError(error)) return `${prefix} ${message}`;
  if (error.code === 'EADDRINUSE' && error.port !== undefined) {
    const variable = Object.entries(ports).find(([, port]) => port === error.port)?.[0];
    return (
      `${prefix} port ${error.port}${variable ? ` (${variable})` : ''} is already in use. ` +
      `Stop what listens there${variable ? `, or set ${variable} to a free port` : ''}.`
    );
  }
  if (error.code === 'EACCES' && error.syscall?.startsWith('spawn')) {
    const who =
      userInfo().uid === 0 ? 'the user it runs as (as root, Postgres runs as "postgres")' : 'you';
    return (
      `${prefix} ${message}: ${who} may not enter a folder above ${error.path ?? 'that program'} ` +
      'or run it. Run it as a normal user, or keep the project in a folder every user can enter.'
    );
  }
  return `${prefix} ${message}`;
}
