import { PLATFORM_MIGRATIONS } from '../activities/platforms/registry.js';
import { connectTemporalClient } from '../client/temporal.js';
import { apiConfigSchema, loadConfigOrExit } from '../config/env.js';
import { migrate } from '../db/migrate.js';
import { createSql } from '../db/sql.js';
import { createLogger } from '../telemetry/logger.js';
import { startApiServer } from './server.js';

/** The API process: serves until SIGINT or SIGTERM, then closes what it opened. */
async function main(): Promise<void> {
  const config = loadConfigOrExit(apiConfigSchema);
  const logger = createLogger(config.LOG_LEVEL, 'audience-sync-api');
  const sql = createSql(config.DATABASE_URL, { applicationName: 'audience-sync-api' });
  await migrate(sql, PLATFORM_MIGRATIONS);
  const temporal = await connectTemporalClient(config);
  const api = await startApiServer({ config, sql, temporal, logger });
  logger.info({ url: api.url }, 'api listening');
  const stop = async (signal: string) => {
    logger.info({ signal }, 'api stopping');
    await api.close();
    await temporal.connection.close();
    await sql.end({ timeout: 5 });
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
