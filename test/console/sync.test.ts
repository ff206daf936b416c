import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eligibleEmails, emulatedContacts, requestLog } from '../support/app-stack.js';
import { type ConsoleStack, screenshot, signIn, startConsoleStack } from '../support/console.js';
import { TEST_SECRET } from '../support/stack.js';

/**
 * A marketer's sync from the console, in a real Chromium against the real stack: the preview and
 * a dry run before the sync, the run followed live to its end with the counts the status endpoint
 * has, its users as CSV, and a slow run paused and resumed.
 */
let consoleStack: ConsoleStack;

beforeAll(async () => {
  consoleStack = await startConsoleStack({
    users: 240,
    worker: { SYNC_BATCH_SIZE: '20' },
    api: { TEMPORAL_UI_URL: TEMPORAL_UI },
  });
}, 600_000);

afterEach(() => {
  expect(consoleStack.takePageProblems()).toEqual([]);
});

afterAll(async () => {
  await consoleStack?.stop();
});

const WAIT = { timeout: 90_000, interval: 100 };
const TEMPORAL_UI = 'http://127.0.0.1:8233';
const COUNT_NAMES = ['added', 'updated', 'skipped', 'failed', 'removed'] as const;

async function openNewSync(page: Page): Promise<void> {
  await signIn(page, consoleStack.consoleUrl);
  await page.getByRole('link', { name: 'New sync' }).click();
  await page.getByRole('heading', { name: 'New sync', level: 1 }).waitFor();
}

/** The run id of the run page the browser is on. */
const runIdOf = (page: Page): string =>
  decodeURIComponent(new URL(page.url()).hash.replace('#/runs/', ''));

/** The counts the run page shows, by name. */
async function shownCounts(page: Page): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const name of COUNT_NAMES) {
    const text = (await page.locator(`.count-${name} .count-number`).textContent()) ?? '';
    counts[name] = Number(text.replaceAll(',', ''));
  }
  return counts;
}

/** Starts a sync into a new list from the form; resolves once its page shows users added. */
async function startSlowSync(page: Page, listName: string): Promise<string> {
  await openNewSync(page);
  await page.getByLabel('New list name').fill(listName);
  await page.getByRole('button', { name: 'Start sync' }).click();
  await page.waitForURL(/#\/runs\/.+/);
  await expect.poll(async () => (await shownCounts(page)).added > 0, WAIT).toBe(true);
  return runIdOf(page);
}

/** Every answer of the emulator takes this long (0: as fast as it can). */
async function slowDown(latencyMs: number): Promise<void> {
  const answer = await fetch(`${consoleStack.stack.emulator.url}/_emulator/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(latencyMs ? { latencyMs } : {}),
  });
  expect(answer.status).toBe(200);
}

/** The users a sync of everyone reads: all but the deleted ones. */
async function population(): Promise<number> {
  const [row] = await consoleStack.stack.db.sql<{ count: number }[]>`
    select count(*)::int as count from users where deleted_at is null`;
  return row?.count ?? 0;
}

const shownStatus = (page: Page) => page.locator('#run-progress .badge').textContent();

describe('a sync from the console', () => {
  it("previews the same count as the API's preview", async () => {
    const page = await consoleStack.newPage();
    await openNewSync(page);
    await page.getByLabel('Only users active recently').check();
    await page.getByLabel('Active within the last (days)').fill('30');
    await page.getByRole('button', { name: 'Preview' }).click();
    const shown = page.getByRole('region', { name: 'Preview' }).locator('strong');
    await shown.waitFor();

    const api = await consoleStack.stack.call(
      'GET',
      '/api/marketing/sync-users?filterActive=true&activeDays=30',
    );
    expect(api.status).toBe(200);
    expect(Number((await shown.textContent())?.replaceAll(',', ''))).toBe(api.body.count);
    expect(api.body.count).toBe(
      (await eligibleEmails(consoleStack.stack, `last_active_at >= now() - interval '30 days'`))
        .length,
    );
    await screenshot(page, 'new-sync-preview');

    // A value the API refuses: its own message, not its JSON.
    await page.getByLabel('Active within the last (days)').fill('ten');
    await page.getByRole('button', { name: 'Preview' }).click();
    const refused = await consoleStack.stack.call(
      'GET',
      '/api/marketing/sync-users?filterActive=true&activeDays=ten',
    );
    expect(refused.status).toBe(400);
    await expect
      .poll(() => page.getByRole('alert').textContent(), WAIT)
      .toBe(refused.body.error.message);
  });

  it("shows a dry run's plan, class by class, as the run's status has it, and writes nothing", async () => {
    const page = await consoleStack.newPage();
    await openNewSync(page);
    const logged = (await requestLog(consoleStack.stack.emulator)).length;
    await page.getByLabel('New list name').fill('Planned list');
    await page.getByLabel('Tags').fill('planned-tag');
    await page.getByRole('button', { name: 'Dry run' }).click();
    const plan = page.getByRole('region', { name: 'Dry run plan' });
    await plan.waitFor({ timeout: WAIT.timeout });

    const runId = (await plan.getByRole('link').textContent()) ?? '';
    const status = await consoleStack.stack.call('GET', `/api/marketing/sync-users/${runId}`);
    expect(status.body).toMatchObject({ status: 'completed', dryRun: true });
    const expected = status.body.plan;
    const shownCount = async (words: string) =>
      Number(
        (
          await plan
            .getByRole('listitem')
            .filter({ hasText: words })
            .locator('strong')
            .textContent()
        )?.replaceAll(',', ''),
      );
    expect(await shownCount('would be created as new contacts')).toBe(expected.create.count);
    expect(await shownCount('already have a contact')).toBe(expected.join.count);
    expect(await shownCount('are already in the list')).toBe(expected.present.count);
    expect(await shownCount('would be taken out of the list')).toBe(expected.remove.count);
    expect(await plan.textContent()).toContain('A real run would create the list "Planned list"');
    expect(await plan.textContent()).toContain('It would create the tag lists planned-tag');
    // Reads only: no request of the dry run wrote to the platform.
    const requests = (await requestLog(consoleStack.stack.emulator)).slice(logged);
    expect(requests.filter((request) => request.method !== 'GET')).toEqual([]);
    await screenshot(page, 'new-sync-dry-run');
  });

  it("starts a sync, follows it to completed with the status endpoint's counts, and downloads its users as CSV", async () => {
    const page = await consoleStack.newPage();
    await openNewSync(page);
    await page.getByLabel('New list name').fill('Everyone from the console');
    await page.getByRole('button', { name: 'Start sync' }).click();
    await page.waitForURL(/#\/runs\/.+/);
    const runId = runIdOf(page);
    await expect.poll(() => shownStatus(page), WAIT).toBe('completed');

    const status = await consoleStack.stack.call('GET', `/api/marketing/sync-users/${runId}`);
    expect(status.body.status).toBe('completed');
    const { progress } = status.body;
    expect(await shownCounts(page)).toEqual({
      added: progress.added,
      updated: progress.updated,
      skipped: progress.skipped,
      failed: progress.failed,
      removed: progress.removed,
    });
    expect(await page.locator('.arithmetic').textContent()).toContain(
      `${progress.added} added + ${progress.skipped} skipped + ${progress.failed} failed = ${progress.processed} users processed`,
    );
    expect(progress.processed).toBe(await population());
    const members = await emulatedContacts(
      consoleStack.stack.emulator,
      `&segment_id=${status.body.audience.id}`,
    );
    expect(members.map((contact) => contact.email.toLowerCase()).sort()).toEqual(
      await eligibleEmails(consoleStack.stack),
    );

    expect(
      await page
        .getByRole('link', { name: 'Open this run in the Temporal Web UI' })
        .getAttribute('href'),
    ).toBe(`${TEMPORAL_UI}/namespaces/default/workflows/${encodeURIComponent(runId)}`);

    // The users of the run, a page at a time, by user id.
    const rows = page.getByRole('region', { name: 'Users of this run' }).locator('tbody tr');
    await expect.poll(() => rows.count(), WAIT).toBe(25);

    // Only the skipped ones, as the API lists them.
    await page.getByLabel('Outcome').selectOption('skipped');
    const skipped = await consoleStack.stack.call(
      'GET',
      `/api/marketing/sync-users/${runId}/users?outcome=skipped&limit=25`,
    );
    expect(skipped.body.users.length).toBe(Math.min(25, progress.skipped));
    const shownSkipped = () =>
      rows.evaluateAll((cells) =>
        cells.map((row) => `${row.children[0]?.textContent}:${row.children[1]?.textContent}`),
      );
    await expect
      .poll(shownSkipped, WAIT)
      .toEqual(skipped.body.users.map((user: { userId: string }) => `${user.userId}:skipped`));
    await page.getByLabel('Outcome').selectOption('');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download CSV' }).click(),
    ]);
    const csv = await readFile((await download.path()) ?? '', 'utf8');
    const lines = csv.trimEnd().split(/\r?\n/);
    expect(lines).toHaveLength(progress.processed + 1);
    expect(csv).not.toContain('@');
    const fromApi = await fetch(
      `${consoleStack.stack.api.url}/api/marketing/sync-users/${runId}/users`,
      {
        headers: { authorization: `Bearer ${TEST_SECRET}`, accept: 'text/csv' },
      },
    );
    expect(csv).toBe(await fromApi.text());

    // The Runs screen lists it, finished.
    await page.getByRole('link', { name: 'Runs', exact: true }).click();
    const card = page.getByRole('listitem').filter({ hasText: 'Everyone from the console' });
    await expect.poll(() => card.locator('.badge').textContent(), WAIT).toBe('completed');
  });

  it('lists runs started elsewhere as they run and end, filtered by status and list', async () => {
    const { stack } = consoleStack;
    const page = await consoleStack.newPage();
    await signIn(page, consoleStack.consoleUrl);
    // A run started through the API and held paused, so the list surely sees it in progress.
    await slowDown(100);
    let runId: string;
    try {
      const started = await stack.call(
        'POST',
        '/api/marketing/sync',
        { platform: 'resend', list_name: 'Started by the API' },
        { prefer: 'respond-async' },
      );
      expect(started.status).toBe(202);
      runId = started.body.runId;
      const pausing = await stack.call('POST', `/api/marketing/sync-users/${runId}/pause`);
      expect(pausing.body.success).toBe(true);
      await expect
        .poll(
          async () => (await stack.call('GET', `/api/marketing/sync-users/${runId}`)).body.status,
          WAIT,
        )
        .toBe('paused');
    } finally {
      await slowDown(0);
    }
    const card = page.getByRole('listitem').filter({ hasText: 'Started by the API' });
    await expect.poll(() => card.locator('.badge').textContent(), WAIT).toBe('paused');
    await stack.call('POST', `/api/marketing/sync-users/${runId}/resume`);
    await expect.poll(() => card.locator('.badge').textContent(), WAIT).toBe('completed');

    const { audience } = (await stack.call('GET', `/api/marketing/sync-users/${runId}`)).body;
    await page.getByLabel('List id').fill(audience.id);
    await page.getByRole('button', { name: 'Filter' }).click();
    const cards = page.getByRole('list', { name: 'Runs' }).locator(':scope > li');
    await expect.poll(() => cards.count(), WAIT).toBe(1);
    expect(await cards.first().textContent()).toContain('Started by the API');
    await page.getByLabel('Status').selectOption('running');
    await expect.poll(() => page.getByText('No runs match.').count(), WAIT).toBe(1);
  });

  it('cancels a slow run after a confirmation; the users already added stay', async () => {
    const { stack } = consoleStack;
    await slowDown(150);
    try {
      const page = await consoleStack.newPage();
      const runId = await startSlowSync(page, 'Cancelled list');

      // Dismissed, the run goes on; accepted, it is cancelled.
      page.once('dialog', (dialog) => void dialog.dismiss());
      await page.getByRole('button', { name: 'Cancel' }).click();
      expect((await stack.call('GET', `/api/marketing/sync-users/${runId}`)).body.status).toBe(
        'running',
      );
      page.once('dialog', (dialog) => void dialog.accept());
      await page.getByRole('button', { name: 'Cancel' }).click();
      await expect.poll(() => shownStatus(page), WAIT).toBe('cancelled');
      const cancelled = await stack.call('GET', `/api/marketing/sync-users/${runId}`);
      expect(cancelled.body.status).toBe('cancelled');
      expect(await shownCounts(page)).toMatchObject({ added: cancelled.body.progress.added });
      const members = await emulatedContacts(
        stack.emulator,
        `&segment_id=${cancelled.body.audience.id}`,
      );
      expect(members).toHaveLength(cancelled.body.progress.added);
      expect(await page.getByRole('button', { name: 'Resume' }).count()).toBe(0);
    } finally {
      await slowDown(0);
    }
  });

  it('pauses a slow run after the batch in flight and resumes it to the end, nobody lost or doubled', async () => {
    const { stack } = consoleStack;
    await slowDown(150);
    try {
      const page = await consoleStack.newPage();
      const runId = await startSlowSync(page, 'Slow list');

      await page.getByRole('button', { name: 'Pause' }).click();
      await expect.poll(() => shownStatus(page), WAIT).toBe('paused');
      const paused = await stack.call('GET', `/api/marketing/sync-users/${runId}`);
      expect(paused.body.status).toBe('paused');
      expect(paused.body.progress.processed).toBeLessThan(await population());
      expect(await page.getByRole('button', { name: 'Pause' }).count()).toBe(0);
      await screenshot(page, 'run-paused');

      await page.getByRole('button', { name: 'Resume' }).click();
      await expect.poll(() => shownStatus(page), WAIT).toBe('completed');
      const done = await stack.call('GET', `/api/marketing/sync-users/${runId}`);
      expect(done.body.progress.processed).toBe(await population());
      const members = await emulatedContacts(
        stack.emulator,
        `&segment_id=${done.body.audience.id}`,
      );
      expect(members.map((contact) => contact.email.toLowerCase()).sort()).toEqual(
        await eligibleEmails(stack),
      );
    } finally {
      await slowDown(0);
    }
  });
});
