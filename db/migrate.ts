import { migrations } from './migrations.js';
import type { Sql } from './sql.js';

/** Any constant shared by every process of the service; the advisory lock serialises migrations. */
const MIGRATION_LOCK_ID = 7_302_117_001;

/**
 * Applies pending migrations in order, in one transaction that first takes an advisory lock, so
 * two processes starting together never race: the second waits, then finds nothing to do.
 * Returns the versions it applied.
 */
export async function migrate(sql: Sql): Promise<number[]> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_ID})`;
    // Made only when missing (`if not exists` still needs the right to create schemas): a role
    // that owns a schema prepared for it needs no right on the database beyond connecting.
    const [schema] = await tx<{ exists: boolean }[]>`
      select to_regnamespace('audience_sync') is not null as exists`;
    if (!schema?.exists) await tx`create schema audience_sync`;
    await tx`
      create table if not exists audience_sync.schema_migrations (
        version integer primary key,
        name text not null,
        applied_at timestamptz not null default now()
      )`;
    const appliedRows = await tx<{ version: number }[]>`
      select version from audience_sync.schema_migrations`;
    const applied = new Set(appliedRows.map((row) => row.version));
    const newlyApplied: number[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      await tx.unsafe(migration.sql);
      await tx`
        insert into audience_sync.schema_migrations (version, name)
        values (${migration.version}, ${migration.name})`;
      newlyApplied.push(migration.version);
    }
    return newlyApplied;
  });
}
