import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { builtConsoleAssets } from '../../api/console.js';
import { type AppStack, type AppStackOptions, startAppStack } from './app-stack.js';
import { launchChromium, type TestBrowser } from './browser.js';
import { TEST_SECRET, uniqueName } from './stack.js';

/**
 * The console in a real Chromium against the real stack: the pages are built from the sources
 * for the test file (so a test never sees a stale build) and served by the API as in production.
 */
export interface ConsoleStack {
  stack: AppStack;
  /** The console's address, e.g. http://127.0.0.1:40123/console/ */
  consoleUrl: string;
  browser: TestBrowser;
  /** A fresh browser context (its own cookies) and page, closed with the stack. */
  newPage(options?: { width?: number; height?: number }): Promise<Page>;
  /**
   * What went wrong in the pages since the last call: uncaught errors and anything the
   * Content-Security-Policy blocked. Tests expect none.
   */
  takePageProblems(): string[];
  stop(): Promise<void>;
}

export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 360, height: 740 };

async function buildConsole(outDir: string): Promise<void> {
  const { build } = await import('vite');
  await build({
    configFile: path.resolve('console', 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
}

export async function startConsoleStack(options: AppStackOptions = {}): Promise<ConsoleStack> {
  const buildDir = path.resolve('.data', 'test', uniqueName(`console-${process.pid}`));
  await mkdir(buildDir, { recursive: true });
  await buildConsole(buildDir);
  const stack = await startAppStack({
    ...options,
    consoleAssets: async () => ({ handler: builtConsoleAssets(buildDir) }),
  });
  const browser = await launchChromium();
  const contexts: BrowserContext[] = [];
  let problems: string[] = [];
  return {
    stack,
    consoleUrl: `${stack.api.url}/console/`,
    browser,
    async newPage(size = DESKTOP) {
      const context = await browser.browser.newContext({
        viewport: { width: size.width ?? DESKTOP.width, height: size.height ?? DESKTOP.height },
        acceptDownloads: true,
        locale: 'en-GB',
        timezoneId: 'UTC',
      });
      contexts.push(context);
      const page = await context.newPage();
      page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
      page.on('console', (message) => {
        if (/Content.Security.Policy/i.test(message.text())) problems.push(message.text());
      });
      return page;
    },
    takePageProblems() {
      const taken = problems;
      problems = [];
      return taken;
    },
    async stop() {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser.close();
      await stack.stop();
      await rm(buildDir, { recursive: true, force: true });
    },
  };
}

/** Signs in through the page as a marketer does; resolves once the screens' links show. */
export async function signIn(page: Page, consoleUrl: string, secret = TEST_SECRET): Promise<void> {
  await page.goto(consoleUrl);
  await page.getByLabel(/secret/i).fill(secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: 'Runs' }).waitFor();
}

/** True when the page is wider than its viewport, i.e. it scrolls sideways. */
export async function scrollsSideways(page: Page): Promise<boolean> {
  // Run in the page (a string: the test's own types know no DOM).
  return page.evaluate<boolean>(
    'document.documentElement.scrollWidth > document.documentElement.clientWidth',
  );
}

/**
 * With CONSOLE_SCREENSHOTS set (`npm run console:screenshots`), saves the page as
 * `<name>-desktop.png` or `<name>-360.png` there, for docs/console.md; otherwise does nothing.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.CONSOLE_SCREENSHOTS;
  if (!dir) return;
  const width = page.viewportSize()?.width ?? DESKTOP.width;
  await mkdir(dir, { recursive: true });
  // The caret and focus ring of a field that was just typed in are not what the page looks like.
  await page.evaluate('document.activeElement?.blur()');
  await page.screenshot({
    path: path.join(dir, `${name}-${width <= PHONE.width ? '360' : 'desktop'}.png`),
    fullPage: true,
    animations: 'disabled',
  });
}

/** Each of the console's screens, at this page's width, without sideways scrolling. */
export async function expectNoSidewaysScrolling(page: Page): Promise<void> {
  expect(await scrollsSideways(page), `${page.url()} scrolls sideways`).toBe(false);
}
