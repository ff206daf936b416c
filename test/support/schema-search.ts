import type { Sql } from '../../db/sql.js';

/**
 * Every table of the service's schema and column of it whose text holds `value` (text, varchar,
 * arrays and JSON, read as text), found through the catalog, so tables added later are searched
 * too. Answers `table.column` for each match, with how many rows match. `except` names tables that
 * are not the service's (the tests' users relation lives in that schema too).
 */
export async function schemaColumnsHolding(
  sql: Sql,
  value: string,
  except: string[] = ['users'],
): Promise<Map<string, number>> {
  const columns = await sql<{ table: string; column: string }[]>`
    select c.relname as table, a.attname as column
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = c.oid
    where n.nspname = 'audience_sync' and c.relkind in ('r', 'p') and a.attnum > 0
      and not a.attisdropped and c.relname <> all(${except}::text[])
      and (format_type(a.atttypid, a.atttypmod) ~ '^(text|character varying|character|jsonb?|name)'
        or format_type(a.atttypid, a.atttypmod) like '%[]')
    order by 1, 2`;
  const found = new Map<string, number>();
  for (const { table, column } of columns) {
    const [row] = await sql<{ count: number }[]>`
      select count(*)::int as count from ${sql(`audience_sync.${table}`)}
      where strpos(${sql(column)}::text, ${value}) > 0`;
    if (row && row.count > 0) found.set(`${table}.${column}`, row.count);
  }
  return found;
}
