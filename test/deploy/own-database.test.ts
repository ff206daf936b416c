import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PLATFORM_MIGRATIONS } from '../../activities/platforms/registry.js';
import { type StartedApi, startApiServer } from '../../api/server.js';
import { migrate } from '../../db/migrate.js';
import { createSql, type Sql } from '../../db/sql.js';
import { withDatabase } from '../../dev/postgres.js';
import { type StartedResendEmulator, startResendEmulator } from '../../emulator/resend/index.js';
import { createLogger } from '../../telemetry/logger.js';
import { apiCaller, emulatedContacts } from '../support/app-stack.js';
import {
  connectTestClient,
  type RunningWorker,
  startTestWorker,
  testApiConfig,
  testWorkerConfig,
  uniqueName,
  waitFor,
} from '../support/stack.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The SQL block of docs/running.md that sets up a database of one's own, as it is written. */
function documentedSql(): string {
  const guide = readFileSync(path.join(root, 'docs', 'running.md'), 'utf8');
  const marker = guide.indexOf('<!-- own-database-sql');
  const block = /```sql\n([\s\S]*?)```/.exec(guide.slice(marker));
  if (marker < 0 || !block?.[1]) throw new Error('docs/running.md has no own-database SQL block');
  return block[1];
}

/**
 * docs/running.md, "Your own database": an application's database whose users table names its
 * columns otherwise, set up with exactly the guide's SQL. The service runs as the role it
 * creates, with no other right, and syncs the users through the view.
 */
describe('the service in a database of your own, set up as the guide says', () => {
  const database = uniqueName('app_db');
  const role = uniqueName('audience_sync_app');
  const admin = createSql(inject('postgresUrl'), { max: 1 });
  let owner: Sql;
  let service: Sql;
  let serviceUrl: string;
  let emulator: StartedResendEmulator;
  let worker: RunningWorker | undefined;
  let api: StartedApi | undefined;
  let client: Client;

  beforeAll(async () => {
    await admin`create database ${admin(database)}`;
    owner = createSql(withDatabase(inject('postgresUrl'), database), { max: 1 });
    await owner.unsafe(`
      create schema app;
      create table app.accounts (
        account_id bigint primary key,
        email_address text not null,
        given_name text,
        family_name text,
        signed_up_at timestamptz not null default now(),
        last_seen_at timestamptz,
        newsletter_opt_out boolean not null default false,
        closed_at timestamptz,
        password_hash text not null
      );
      insert into app.accounts
        (account_id, email_address, given_name, family_name, last_seen_at, newsletter_opt_out,
         closed_at, password_hash)
      select g, 'member.' || g || '@example.com', 'Given' || g, 'Family' || g,
        now() - make_interval(days => g), g % 10 = 0, case when g % 7 = 0 then now() end, 'hash'
      from generate_series(1, 40) as g;`);
    await owner.unsafe(
      documentedSql().replaceAll('app_db', database).replaceAll('audience_sync_app', role),
    );
    const url = new URL(withDatabase(inject('postgresUrl'), database));
    url.username = role;
    url.password = 'change-me';
    serviceUrl = url.toString();
    service = createSql(serviceUrl, { max: 10 });
    emulator = await startResendEmulator({ rateLimit: 200 });
    client = await connectTestClient();
  });
  afterAll(async () => {
    await api?.close();
    await worker?.stop();
    await client?.connection.close();
    await emulator?.close();
    await service?.end({ timeout: 5 });
    await owner?.end({ timeout: 5 });
    await admin`drop database if exists ${admin(database)} with (force)`;
    await admin`drop role if exists ${admin(role)}`;
    await admin.end({ timeout: 5 });
  });

  it('migrates as that role, reads only the view, and syncs its users', async () => {
    await migrate(service, PLATFORM_MIGRATIONS);
    await expect(service`select password_hash from app.accounts limit 1`).rejects.toThrow(
      /permission denied/,
    );

    const workerConfig = testWorkerConfig({
      DATABASE_URL: serviceUrl,
      USERS_SOURCE: 'app.marketing_users',
      RESEND_BASE_URL: emulator.url,
    });
    worker = await startTestWorker(workerConfig, service);
    api = await startApiServer({
      config: testApiConfig({
        DATABASE_URL: serviceUrl,
        USERS_SOURCE: 'app.marketing_users',
        TEMPORAL_TASK_QUEUE: workerConfig.TEMPORAL_TASK_QUEUE,
      }),
      sql: service,
      temporal: client,
      logger: createLogger('silent'),
    });
    const call = apiCaller(api.url);
    const eligible = (
      await owner<{ email: string }[]>`
        select email_address as email from app.accounts
        where closed_at is null and not newsletter_opt_out`
    )
      .map((row) => row.email)
      .sort();

    const preview = await call('GET', '/api/marketing/sync-users');
    expect(preview.status).toBe(200);
    expect(preview.body.count).toBe(eligible.length);

    const started = await call('POST', '/api/marketing/sync', {
      platform: 'resend',
      list_name: 'Own database',
      sync_type: 'all',
    });
    expect([200, 202]).toContain(started.status);
    const status = await waitFor(
      async () => {
        const answer = await call('GET', `/api/marketing/sync-users/${started.body.runId}`);
        return answer.body.status === 'completed' && answer.body;
      },
      { timeoutMs: 60_000, what: 'the run to complete' },
    );
    expect(status.progress).toMatchObject({ added: eligible.length, failed: 0 });
    const members = await emulatedContacts(emulator, `&segment_id=${status.audience.id}`);
    expect(members.map((contact) => contact.email).sort()).toEqual(eligible);
  });
});
