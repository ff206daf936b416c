import type { Sql } from './sql.js';

/** Readiness: resolves when the database answers a trivial query. */
export async function pingDatabase(sql: Sql): Promise<void> {
  await sql`select 1`;
}
