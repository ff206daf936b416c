import { PLATFORM_MIGRATIONS } from '../activities/platforms/registry.js';
import { migrate } from '../db/migrate.js';
import { createSql, type Sql, type SqlOptions } from '../db/sql.js';
import { withDatabase } from './postgres.js';

/** A database of its own with the service's schema, for a test file or a benchmark. */
export interface ScratchDatabase {
  url: string;
  sql: Sql;
  /** Closes the pool and drops the database, connections or not. */
  drop(): Promise<void>;
}

/** Creates `name` on the server of `maintenanceUrl` (its `postgres` database) and migrates it. */
export async function createScratchDatabase(
  maintenanceUrl: string,
  name: string,
  options: SqlOptions,
): Promise<ScratchDatabase> {
  const maintenance = createSql(maintenanceUrl, { max: 1 });
  await maintenance`create database ${maintenance(name)}`;
  const url = withDatabase(maintenanceUrl, name);
  const sql = createSql(url, options);
  await migrate(sql, PLATFORM_MIGRATIONS);
  return {
    url,
    sql,
    async drop() {
      await sql.end({ timeout: 5 });
      await maintenance`drop database if exists ${maintenance(name)} with (force)`;
      await maintenance.end({ timeout: 5 });
    },
  };
}
