import type postgres from 'postgres';
import { type Migration, migrations } from './migrations.js';
import type { Sql } from './sql.js';

/** Any constant shared by every process of the service; the advisory lock serialises migrations. */
const MIGRATION_LOCK_ID = 7_302_117_001;

/** A platform's own migrations (its declaration's), versioned on their own. */
export interface PlatformMigrations {
  platform: string;
  migrations: readonly Migration[];
}

/** Applied versions of one sequence, as `{ platform: '', version }` for the service's own. */
export interface AppliedMigration {
  platform: string;
  version: number;
}

type Transaction = postgres.TransactionSql;

/** The schema and the two ledgers of applied versions, made when missing. */
async function prepareLedgers(tx: Transaction): Promise<void> {
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
  await tx`
    create table if not exists audience_sync.platform_migrations (
      platform text not null,
      version integer not null,
      name text not null,
      applied_at timestamptz not null default now(),
      primary key (platform, version)
    )`;
}

/**
 * Applies pending migrations in one transaction that first takes an advisory lock, so two
 * processes starting together never race: the second waits, then finds nothing to do. The
 * service's own come first (`schema_migrations`), then each platform's in the registry's order
 * (`platform_migrations`, one sequence per platform): a platform's tables may build on the
 * service's, never the other way round. Returns the versions it applied.
 */
export async function migrate(
  sql: Sql,
  platforms: readonly PlatformMigrations[],
): Promise<AppliedMigration[]> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_ID})`;
    await prepareLedgers(tx);
    const serviceRows = await tx<{ version: number }[]>`
      select version from audience_sync.schema_migrations`;
    const platformRows = await tx<AppliedMigration[]>`
      select platform, version from audience_sync.platform_migrations`;
    const applied = new Set([
      ...serviceRows.map((row) => `:${row.version}`),
      ...platformRows.map((row) => `${row.platform}:${row.version}`),
    ]);
    const newlyApplied: AppliedMigration[] = [];
    const sequences = [{ platform: '', migrations }, ...platforms];
    for (const { platform, migrations: sequence } of sequences) {
      for (const migration of sequence) {
        if (applied.has(`${platform}:${migration.version}`)) continue;
        await tx.unsafe(migration.sql);
        if (platform === '') {
          await tx`
            insert into audience_sync.schema_migrations (version, name)
            values (${migration.version}, ${migration.name})`;
        } else {
          await tx`
            insert into audience_sync.platform_migrations (platform, version, name)
            values (${platform}, ${migration.version}, ${migration.name})`;
        }
        newlyApplied.push({ platform, version: migration.version });
      }
    }
    return newlyApplied;
  });
}
