import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleStack, screenshot, signIn, startConsoleStack } from '../support/console.js';
import { TEST_SECRET } from '../support/stack.js';

/**
 * Signing in to the console in a real Chromium: the secret is exchanged once for an HttpOnly
 * session cookie and kept nowhere in the page; a wrong secret is refused with the API's message;
 * everything works from the keyboard alone.
 */
let consoleStack: ConsoleStack;

beforeAll(async () => {
  consoleStack = await startConsoleStack();
}, 600_000);

afterEach(() => {
  expect(consoleStack.takePageProblems()).toEqual([]);
});

afterAll(async () => {
  await consoleStack?.stop();
});

const SCREEN_LINKS = ['Runs', 'New sync', 'Schedules', 'Consent', 'Health'];
const TWELVE_HOURS_S = 12 * 60 * 60;

describe('signing in', () => {
  it("refuses a wrong secret with the API's own message and sets no cookie", async () => {
    const { consoleUrl, stack } = consoleStack;
    const page = await consoleStack.newPage();
    await page.goto(consoleUrl);
    await screenshot(page, 'sign-in');
    const secret = page.getByLabel(/secret/);
    expect(await secret.getAttribute('type')).toBe('password');
    await secret.fill('not-the-secret-but-just-as-long-as-one-0000');
    await page.getByRole('button', { name: 'Sign in' }).click();

    const refused = await fetch(`${stack.api.url}/console/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ secret: 'another-wrong-secret-of-the-same-length-0' }),
    });
    expect(refused.status).toBe(401);
    const { error } = (await refused.json()) as { error: { message: string } };
    await expect.poll(() => page.getByRole('alert').textContent()).toBe(error.message);
    expect(await page.context().cookies()).toEqual([]);
    expect(await page.getByRole('link', { name: 'Runs' }).count()).toBe(0);
  });

  it('exchanges the secret for an HttpOnly, SameSite=Strict cookie of 12 hours and forgets it', async () => {
    const { consoleUrl, stack } = consoleStack;
    const page = await consoleStack.newPage();
    const before = Math.floor(Date.now() / 1000);
    await signIn(page, consoleUrl);
    const after = Math.ceil(Date.now() / 1000);

    for (const name of SCREEN_LINKS) {
      expect(await page.getByRole('link', { name, exact: true }).count(), name).toBe(1);
    }
    const cookies = await page.context().cookies();
    expect(cookies).toHaveLength(1);
    const [cookie] = cookies;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false, path: '/' });
    expect(cookie?.expires).toBeGreaterThanOrEqual(before + TWELVE_HOURS_S - 1);
    expect(cookie?.expires).toBeLessThanOrEqual(after + TWELVE_HOURS_S + 1);

    // Nothing the page's scripts can read holds the secret or the session.
    const stored = await page.evaluate<string>(
      'JSON.stringify([document.cookie, {...localStorage}, {...sessionStorage}])',
    );
    expect(stored).toBe('["",{},{}]');
    expect(await page.content()).not.toContain(TEST_SECRET);
    expect(await page.getByLabel(/secret/).count()).toBe(0);

    // The cookie is the page's credential for the same API routes everyone calls.
    const listed = await page.evaluate<number>(
      "fetch('/api/marketing/runs').then((answer) => answer.status)",
    );
    expect(listed).toBe(200);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    const afterSignOut = await page.evaluate<number>(
      "fetch('/api/marketing/runs').then((answer) => answer.status)",
    );
    expect(afterSignOut).toBe(401);
    // The Bearer API is unchanged.
    expect((await stack.call('GET', '/api/marketing/runs')).status).toBe(200);
  });

  it('signs in and reaches every screen with the keyboard alone, the focus always visible', async () => {
    const { consoleUrl } = consoleStack;
    const page = await consoleStack.newPage();
    await page.goto(consoleUrl);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();

    const focused = () =>
      page.evaluate<{ name: string; outline: string }>(`(() => {
        const element = document.activeElement;
        const name = element.labels?.[0]?.textContent ?? element.textContent ?? '';
        return { name: name.trim(), outline: getComputedStyle(element).outlineStyle };
      })()`);

    await page.keyboard.press('Tab');
    expect(await focused()).toEqual({ name: 'Marketing API secret', outline: 'solid' });
    await page.keyboard.type(TEST_SECRET);
    await page.keyboard.press('Tab');
    expect(await focused()).toEqual({ name: 'Sign in', outline: 'solid' });
    await page.keyboard.press('Enter');
    await page.getByRole('link', { name: 'Runs' }).waitFor();

    // The screen's heading has the focus; before it, in reverse tab order, the page's top.
    expect(await focused()).toMatchObject({ name: 'Runs' });
    const order: string[] = [];
    for (let stop = 0; stop < 7; stop += 1) {
      await page.keyboard.press('Shift+Tab');
      const current = await focused();
      expect(current.outline, current.name).toBe('solid');
      order.push(current.name);
    }
    expect(order.reverse()).toEqual(['Skip to the screen', ...SCREEN_LINKS, 'Sign out']);

    // Every screen opens from its link with Enter, and announces itself by its heading.
    for (const name of SCREEN_LINKS) {
      await page.getByRole('link', { name, exact: true }).focus();
      await page.keyboard.press('Enter');
      await expect
        .poll(() =>
          page.evaluate<string>(
            'document.activeElement.tagName + ":" + document.activeElement.textContent',
          ),
        )
        .toBe(`H1:${name}`);
    }
  });
});
