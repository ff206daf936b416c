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

/** `run_id` → `runId`: the key `postgres.toCamel` gives a snake_case column. */
type CamelCase<Column extends string> = Column extends `${infer Head}_${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : Column;

/** Nothing to add when the columns name exactly the record's fields; else what differs. */
type SameFields<Named, Fields> = [Exclude<Fields, Named>, Exclude<Named, Fields>] extends [
  never,
  never,
]
  ? unknown
  : { missing: Exclude<Fields, Named>; notInRecord: Exclude<Named, Fields> };

/**
 * The select list of a record: each column named by its camelCase key, as the driver's
 * `postgres.toCamel` spells it (`"run_id" as "runId"`), so no one writes that map by hand. The
 * list must name every field of `Row` and no other, or it does not compile. The connection keeps
 * no `postgres.camel` transform: that would also rename the users relation's columns and the keys
 * inside JSON values (a run's property keys), which must reach the service as they are written.
 * With `tableAlias`, each column is read from that table of the statement.
 */
export function recordColumns<Row>(tableAlias?: string) {
  // Qualified when the statement joins tables whose columns share names (`"e"."status"`).
  const qualifier = tableAlias === undefined ? '' : `"${tableAlias}".`;
  return <const Columns extends readonly string[]>(
    columns: Columns & SameFields<CamelCase<Columns[number]>, keyof Row>,
  ): string =>
    columns.map((column) => `${qualifier}"${column}" as "${postgres.toCamel(column)}"`).join(', ');
}
