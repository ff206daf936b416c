import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { healthInWords } from '../../console/src/health-words.js';
import { createEmulatorSegment, waitForRunEnd } from '../support/app-stack.js';
import {
  type ConsoleStack,
  DESKTOP,
  expectNoSidewaysScrolling,
  PHONE,
  screenshot,
  signIn,
  startConsoleStack,
} from '../support/console.js';
import { uniqueName } from '../support/stack.js';

/**
 * The console's other screens in a real Chromium against the real stack: schedules made from the
 * New sync form, consent (the opt-outs feed and erasures), health, and every screen readable at
 * 360 px without sideways scrolling and on a desktop (where `npm run console:screenshots` takes
 * the pictures of docs/console.md).
 */
let consoleStack: ConsoleStack;
const ownSchedules: string[] = [];

beforeAll(async () => {
  consoleStack = await startConsoleStack({ users: 120 });
}, 600_000);

afterEach(() => {
  expect(consoleStack.takePageProblems()).toEqual([]);
});

afterAll(async () => {
  for (const id of ownSchedules) {
    await consoleStack?.stack.call('DELETE', `/api/marketing/schedules/${id}`);
  }
  await consoleStack?.stop();
});

const WAIT = { timeout: 90_000, interval: 100 };

const scheduleName = (prefix: string): string => {
  const id = uniqueName(prefix).replaceAll('_', '-');
  ownSchedules.push(id);
  return id;
};

async function open(page: Page, link: string): Promise<void> {
  await page.getByRole('link', { name: link, exact: true }).click();
  await page.getByRole('heading', { level: 1, name: link }).waitFor();
}

/** A finished sync of the demo users into a new list, started through the API. */
async function finishedSync(listName: string): Promise<string> {
  const { stack } = consoleStack;
  const started = await stack.call(
    'POST',
    '/api/marketing/sync',
    { platform: 'resend', list_name: listName, filterActive: true, activeDays: 365 },
    { prefer: 'respond-async' },
  );
  expect(started.status).toBe(202);
  await waitForRunEnd(stack, started.body.runId);
  return started.body.runId;
}

describe('schedules', () => {
  it('creates a schedule from the New sync form, triggers, pauses, unpauses and deletes it', async () => {
    const { stack, consoleUrl } = consoleStack;
    const listId = await createEmulatorSegment(stack.emulator, 'Scheduled list');
    const id = scheduleName('console-weekly');
    const page = await consoleStack.newPage();
    await signIn(page, consoleUrl);
    await open(page, 'New sync');
    await page.getByLabel('An existing list').check();
    await page.getByLabel('List id').fill(listId);
    await page.getByLabel('Sync type').selectOption('new');
    await page.getByLabel('Schedule name').fill(id);
    await page.getByLabel('Repeat every').fill('12h');
    await page.getByRole('button', { name: 'Create schedule' }).click();
    await page.getByRole('heading', { level: 1, name: 'Schedules' }).waitFor();

    const described = await stack.call('GET', `/api/marketing/schedules/${id}`);
    expect(described.status).toBe(200);
    expect(described.body.schedule).toMatchObject({
      scheduleId: id,
      paused: false,
      spec: { every: ['12h'] },
      sync: { platform: 'resend', listId, syncType: 'new' },
    });
    const card = page
      .getByRole('listitem')
      .filter({ has: page.getByRole('heading', { name: id }) });
    await expect.poll(() => card.textContent(), WAIT).toContain('every 12h');
    expect(await card.textContent()).toContain('not run yet');

    await card.getByRole('button', { name: 'Trigger' }).click();
    const lastRun = card.getByRole('link');
    await lastRun.waitFor({ timeout: WAIT.timeout });
    const runId = decodeURIComponent(
      ((await lastRun.getAttribute('href')) ?? '').replace('#/runs/', ''),
    );
    const triggered = await stack.call('GET', `/api/marketing/schedules/${id}`);
    expect(triggered.body.schedule.recentRuns.map((run: { runId: string }) => run.runId)).toEqual([
      runId,
    ]);
    const ended = await waitForRunEnd(stack, runId);
    expect(ended.status).toBe('completed');

    await card.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => card.locator('.badge').textContent(), WAIT).toBe('paused');
    expect((await stack.call('GET', `/api/marketing/schedules/${id}`)).body.schedule.paused).toBe(
      true,
    );
    await card.getByRole('button', { name: 'Unpause' }).click();
    await expect.poll(() => card.locator('.badge').textContent(), WAIT).toBe('active');
    expect((await stack.call('GET', `/api/marketing/schedules/${id}`)).body.schedule.paused).toBe(
      false,
    );

    page.once('dialog', (dialog) => void dialog.accept());
    await card.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => card.count(), WAIT).toBe(0);
    expect((await stack.call('GET', `/api/marketing/schedules/${id}`)).status).toBe(404);
  });
});

describe('consent', () => {
  it('erases pasted user ids, follows the erasure to its end and shows it in the opt-outs feed', async () => {
    const { stack, consoleUrl } = consoleStack;
    await finishedSync('Before an erasure');
    const [first, second] = await stack.db.sql<{ id: string }[]>`
      select id::text from users where deleted_at is null order by id limit 2`;
    const page = await consoleStack.newPage();
    await signIn(page, consoleUrl);
    await open(page, 'Consent');
    await page.getByLabel('User ids to erase').fill(`${first?.id},\n${second?.id}`);
    await page.getByRole('button', { name: 'Start erasure' }).click();
    const status = page.locator('.erasure-status');
    await expect.poll(() => status.textContent(), WAIT).toContain('completed');
    expect(await status.textContent()).toContain('2 of 2 users erased');

    const feed = await stack.call('GET', '/api/marketing/opt-outs?after=0&limit=1000');
    const erased = feed.body.data.filter(
      (entry: { userId: string; origin: string }) =>
        entry.origin === 'erased' && [first?.id, second?.id].includes(entry.userId),
    );
    expect(erased).toHaveLength(2);
    // The feed as the screen shows it when opened again.
    await open(page, 'Runs');
    await open(page, 'Consent');
    const rows = page.getByRole('region', { name: 'Opt-outs' }).locator('tbody tr');
    await expect.poll(() => rows.count(), WAIT).toBe(feed.body.data.length);
    const shown = await rows.evaluateAll((cells) =>
      cells.map((row) => [row.children[0]?.textContent, row.children[1]?.textContent]),
    );
    expect(shown).toEqual(
      feed.body.data.map((entry: { userId: string; origin: string }) => [
        entry.userId,
        entry.origin === 'erased' ? 'Erased (all their data deleted)' : expect.any(String),
      ]),
    );
  });
});

describe('health', () => {
  it('says in words what the health route answers about the database, Temporal and Resend', async () => {
    const { stack, consoleUrl } = consoleStack;
    const page = await consoleStack.newPage();
    await signIn(page, consoleUrl);
    await open(page, 'Health');
    const health = await stack.call('GET', '/api/marketing/health');
    expect(health.status).toBe(200);
    const expected = healthInWords(health.body);
    expect(expected.map((part) => part.name)).toEqual(['Database', 'Temporal', 'Resend']);
    const cards = page.getByRole('list', { name: 'Health' }).locator(':scope > li');
    await expect.poll(() => cards.count(), WAIT).toBe(3);
    const database = await cards.nth(0).textContent();
    expect(database).toContain('working');
    expect(database).toContain('The database with your users is reachable.');
    expect(await cards.nth(1).textContent()).toContain('Temporal, which runs syncs');
    for (const [index, part] of expected.entries()) {
      expect(await cards.nth(index).locator('.badge').textContent()).toBe(part.state);
      const text = await cards.nth(index).textContent();
      for (const line of part.lines) expect(text).toContain(line);
    }
  });
});

describe('every screen at 360 px and on a desktop', () => {
  it('reads without sideways scrolling', { timeout: 240_000 }, async () => {
    const { stack, consoleUrl } = consoleStack;
    const runId = await finishedSync('Active this year');
    const id = scheduleName('console-tour');
    const listId = await createEmulatorSegment(stack.emulator, 'Newsletter');
    const created = await stack.call('POST', '/api/marketing/schedules', {
      scheduleId: id,
      every: '6h',
      note: 'New users into the newsletter, four times a day',
      sync: { platform: 'resend', list_id: listId, sync_type: 'new' },
    });
    expect(created.status).toBe(201);

    for (const size of [PHONE, DESKTOP]) {
      const page = await consoleStack.newPage(size);
      await page.goto(consoleUrl);
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      await expectNoSidewaysScrolling(page);
      await screenshot(page, 'sign-in');
      await signIn(page, consoleUrl);
      for (const [link, name] of [
        ['Runs', 'runs'],
        ['New sync', 'new-sync'],
        ['Schedules', 'schedules'],
        ['Consent', 'consent'],
        ['Health', 'health'],
      ] as const) {
        await open(page, link);
        await expect.poll(() => page.getByText('Loading…').count(), WAIT).toBe(0);
        await expectNoSidewaysScrolling(page);
        await screenshot(page, name);
      }
      await page.goto(`${consoleUrl}#/runs/${encodeURIComponent(runId)}`);
      await page
        .getByRole('region', { name: 'Users of this run' })
        .locator('tbody tr')
        .first()
        .waitFor();
      await expectNoSidewaysScrolling(page);
      await screenshot(page, 'run');
    }
  });
});
