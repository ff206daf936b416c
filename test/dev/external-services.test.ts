import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { declarationOf } from '../../activities/platforms/registry.js';
import { createUsersTable } from '../../db/demo-users.js';
import { READY_LINE } from '../../dev/banner.js';
import { type StartedResendEmulator, startResendEmulator } from '../../emulator/resend/index.js';
import { createTestDatabase, type TestDatabase, uniqueName, waitFor } from '../support/stack.js';
import {
  type DevProcess,
  freePorts,
  isListening,
  leftoverProcesses,
  logLines,
  startDevProcess,
} from './dev-process.js';

/**
 * `npm run dev` with Postgres, Temporal and Resend of your own: it starts only the worker and the
 * API, on a machine where nothing has created the data folder yet.
 */
describe('npm run dev with external Postgres, Temporal and Resend', () => {
  let database: TestDatabase;
  let emulator: StartedResendEmulator;
  let scratch: string;
  let dev: DevProcess | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    // Your own Postgres holds your users relation (npm run dev checks it before saying ready).
    await createUsersTable(database.sql);
    emulator = await startResendEmulator({ rateLimit: 100 });
    scratch = await mkdtemp(path.join(tmpdir(), 'dev-external-'));
  });
  afterAll(async () => {
    if (dev && dev.child.exitCode === null) dev.child.kill('SIGKILL');
    await emulator.close();
    await database.drop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('starts with no data folder yet, bundles the workflows into it, and stops cleanly', async () => {
    const [api, loopsPort] = await freePorts(2);
    const dataDir = path.join(scratch, 'never-created', '.data');

    dev = startDevProcess(
      {
        DATABASE_URL: database.url,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TEMPORAL_TASK_QUEUE: uniqueName('dev-external'),
        RESEND_API_KEY: 're_test_external_key',
        RESEND_BASE_URL: emulator.url,
        PORT: String(api),
        LOOPS_EMULATOR_PORT: String(loopsPort),
      },
      dataDir,
    );
    await dev.waitForOutput(new RegExp(`^${READY_LINE}$`, 'm'));

    expect(existsSync(path.join(dataDir, 'workflow-bundle.js'))).toBe(true);
    expect(dev.stdout()).toContain(`${inject('temporalAddress')} (TEMPORAL_ADDRESS)`);
    expect(dev.stdout()).toContain(`${emulator.url} (RESEND_API_KEY is set)`);
    const health = await fetch(`http://127.0.0.1:${api}/healthz`);
    expect(health.status).toBe(200);
    // The console's address, served from its sources on the API's port (with reload).
    const consoleUrl = `http://127.0.0.1:${api}/console/`;
    expect(dev.stdout()).toMatch(new RegExp(`^  Console +${consoleUrl} `, 'm'));
    const page = await fetch(consoleUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module" src="/console/@vite/client">');

    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    expect(dev.stderr()).toBe('');
    // Logs are written asynchronously, so they are complete once it has exited. Resend is yours
    // (RESEND_API_KEY): of the platforms, only Loops' emulator is started.
    expect(
      logLines(dev.stdout(), 'ready')
        .map((line) => line.component)
        .sort(),
    ).toEqual(['api', 'loops', 'migrations', 'postgres', 'temporal', 'workflow-bundle']);
    expect(await isListening(Number(api))).toBe(false);
    expect(leftoverProcesses(dev.marker)).toEqual([]);
  });
});

/** `npm run dev` running its own emulators: their webhooks reach the local API, signed. */
describe('npm run dev with its own Resend and Loops emulators', () => {
  let database: TestDatabase;
  let scratch: string;
  let dev: DevProcess | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    await createUsersTable(database.sql);
    scratch = await mkdtemp(path.join(tmpdir(), 'dev-webhooks-'));
  });
  afterAll(async () => {
    if (dev && dev.child.exitCode === null) dev.child.kill('SIGKILL');
    await database.drop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('points the emulator webhooks at the API with a dev secret and says so', async () => {
    const [api, emulatorPort, loopsPort] = await freePorts(3);
    dev = startDevProcess(
      {
        DATABASE_URL: database.url,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TEMPORAL_TASK_QUEUE: uniqueName('dev-webhooks'),
        PORT: String(api),
        RESEND_EMULATOR_PORT: String(emulatorPort),
        LOOPS_EMULATOR_PORT: String(loopsPort),
      },
      path.join(scratch, '.data'),
    );
    await dev.waitForOutput(new RegExp(`^${READY_LINE}$`, 'm'));
    const emulatorUrl = `http://127.0.0.1:${emulatorPort}`;
    expect(dev.stdout()).toContain(
      `the emulator sends contact.updated, contact.deleted and suppression.added to http://127.0.0.1:${api}/webhooks/resend`,
    );
    expect(dev.stdout()).toContain(
      `curl -sS -X POST '${emulatorUrl}/_emulator/contacts/unsubscribe'`,
    );

    const admin = (route: string, body: unknown) =>
      fetch(`${emulatorUrl}/_emulator${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect(
      (await admin('/contacts/bulk', { contacts: [{ email: 'dev.webhook@example.com' }] })).status,
    ).toBe(200);
    expect(
      (await admin('/contacts/unsubscribe', { email: 'dev.webhook@example.com' })).status,
    ).toBe(200);
    const delivered = await waitFor(
      async () => {
        const answer = await fetch(`${emulatorUrl}/_emulator/webhooks/deliveries`);
        const { deliveries } = (await answer.json()) as {
          deliveries: { type: string; statuses: number[] }[];
        };
        return deliveries.find((delivery) => delivery.statuses.length > 0);
      },
      { what: 'the webhook delivered' },
    );
    expect(delivered).toMatchObject({ type: 'contact.updated', statuses: [200] });
    const [recorded] = await database.sql`
      select count(*)::int as count from audience_sync.webhook_deliveries`;
    expect(recorded?.count).toBe(1);
    // The banner stays the last thing on the screen: a delivery's request line is debug here.
    const afterBanner = dev.stdout().split(`\n${READY_LINE}\n`)[1];
    expect(afterBanner?.split('\n').filter((line) => line !== '')).toEqual([]);
    await expectLoopsEmulator(dev, database, `http://127.0.0.1:${api}`, loopsPort ?? 0);

    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    expect(dev.stdout()).not.toContain('dev.webhook@example.com');
    for (const email of ['dev.loops.webhook@example.com', ...LOOPS_SYNC_USERS]) {
      expect(dev.stdout()).not.toContain(email);
    }
    expect(leftoverProcesses(dev.marker)).toEqual([]);
  });
});

/**
 * The Loops emulator the stack started: named in the banner, answering the SDK's routes with the
 * dev key, holding the demo mailing list the banner's Loops sync names, and sending its signed
 * events to the API's /webhooks/loops. The banner's Loops sync, run as printed, is answered as
 * this version can: a run, or 501 until the Loops client exists.
 */
/** Active users the banner's Loops sync puts into the demo mailing list. */
const LOOPS_SYNC_USERS = ['dev.loops.sync.1@example.com', 'dev.loops.sync.2@example.com'];

async function expectLoopsEmulator(
  dev: DevProcess,
  database: TestDatabase,
  apiUrl: string,
  port: number,
): Promise<void> {
  const loopsUrl = `http://127.0.0.1:${port}`;
  const banner = dev.stdout();
  for (const [index, email] of LOOPS_SYNC_USERS.entries()) {
    await database.sql`
      insert into users (id, email, first_name, last_name, last_active_at)
      values (${index + 1}, ${email}, 'Dev', 'Loops', now())`;
  }
  expect(banner).toMatch(
    new RegExp(`^  Loops +emulator at ${loopsUrl} \\(SDK apiRoot ${loopsUrl}/api/\\)`, 'm'),
  );
  expect(banner).toMatch(
    new RegExp(`^  Loops webhooks +the emulator sends .* to ${apiUrl}/webhooks/loops, signed`, 'm'),
  );
  const lists = await fetch(`${loopsUrl}/api/v1/lists`, {
    headers: { authorization: `Bearer ${declarationOf('loops')?.emulator?.devCredential}` },
  });
  expect(lists.status).toBe(200);
  const [demo, ...others] = (await lists.json()) as { id: string; name: string }[];
  expect(others).toEqual([]);
  const sync =
    /curl -sS -X POST '([^']+)' \\\n\s+-H 'Authorization: Bearer ([^']+)'.*\\\n\s+-d '(\{"platform":"loops"[^']*\})'/.exec(
      banner,
    );
  expect(JSON.parse(sync?.[3] ?? '{}')).toEqual({
    platform: 'loops',
    list_id: demo?.id,
    sync_type: 'all',
    filterActive: true,
    activeDays: 30,
  });
  const answer = await fetch(sync?.[1] ?? '', {
    method: 'POST',
    headers: { authorization: `Bearer ${sync?.[2]}`, 'content-type': 'application/json' },
    body: sync?.[3] ?? '',
  });
  if (declarationOf('loops')?.client) {
    // The two active users, in the demo mailing list.
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ list_id: demo?.id, synced: 2, failed: 0 });
    const inList = await fetch(`${loopsUrl}/_emulator/contacts?listId=${demo?.id}`);
    const { data } = (await inList.json()) as { data: { email: string }[] };
    expect(data.map((contact) => contact.email).sort()).toEqual(LOOPS_SYNC_USERS);
  } else {
    expect(answer.status).toBe(501);
    expect(await answer.json()).toMatchObject({ error: { code: 'platform_not_available' } });
  }

  const admin = (route: string, body: unknown) =>
    fetch(`${loopsUrl}/_emulator${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const email = 'dev.loops.webhook@example.com';
  expect((await admin('/contacts/bulk', { contacts: [{ email }] })).status).toBe(200);
  expect((await admin('/contacts/unsubscribe', { email })).status).toBe(200);
  // The sync's two contacts joining the list (when it ran) and the unsubscribe, each delivered
  // once, signed.
  const joined = ['contact.created', 'contact.mailingList.subscribed'];
  const expected = [
    ...(declarationOf('loops')?.client ? [...joined, ...joined] : []),
    'contact.unsubscribed',
  ].sort();
  const delivered = await waitFor(
    async () => {
      const deliveries = await fetch(`${loopsUrl}/_emulator/webhook/deliveries`);
      const { deliveries: sent } = (await deliveries.json()) as {
        deliveries: { type: string; statuses: number[] }[];
      };
      const done = sent.filter((delivery) => delivery.statuses.length > 0);
      return done.length >= expected.length ? done : undefined;
    },
    { what: 'the Loops webhooks delivered' },
  );
  expect(
    delivered
      .map(({ type, statuses }) => ({ type, statuses }))
      .sort((a, b) => a.type.localeCompare(b.type)),
  ).toEqual(expected.map((type) => ({ type, statuses: [200] })));
  const platforms = await database.sql<{ platform: string }[]>`
    select platform from audience_sync.webhook_deliveries order by received_at`;
  expect(platforms.map((row) => row.platform)).toEqual(['resend', ...expected.map(() => 'loops')]);
}
