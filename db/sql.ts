import postgres from 'postgres';

export type Sql = postgres.Sql;

export interface SqlOptions {
  /** Pool size; the worker sizes it to its activity concurrency. */
  max?: number;
  /** Shown in pg_stat_activity, so operators can tell the processes apart. */
  applicationName?: string;
}

/** One pool per process, created at the composition root and passed to whoever needs it. */
export function createSql(url: string, options: SqlOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    idle_timeout: 30,
    connect_timeout: 10,
    connection: {
      application_name: options.applicationName ?? 'audience-sync',
      // Queries here are short; compiling one just in time can stall a batch for most of a second.
      jit: 'off',
    },
    // Notices (e.g. "schema already exists") are not problems worth a log line.
    onnotice: () => {},
  });
}
