import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { findOnPath } from '../../dev/temporal-cli.js';

/**
 * A real Chromium for the console's tests, found or installed the way the suite finds the
 * Temporal CLI: CHROMIUM_PATH, a browser on PATH, or Playwright's own download; where none is
 * there, Playwright's download (where the internet is reachable), else, as root on Debian or
 * Ubuntu, the distribution's `chromium` package; else one message saying what to install.
 */

const require = createRequire(import.meta.url);

const BROWSER_NAMES = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome'];

const INSTALL_HINT =
  'install a Chromium for the console tests: `apt-get install chromium` (Debian, Ubuntu), ' +
  'or `npx playwright-core install chromium`, or set CHROMIUM_PATH to a Chromium or Chrome';

/** Playwright's own Chromium, when it has been downloaded. */
function playwrightChromium(): string | undefined {
  try {
    const file = chromium.executablePath();
    return existsSync(file) ? file : undefined;
  } catch {
    return undefined;
  }
}

export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CHROMIUM_PATH) {
    if (!existsSync(env.CHROMIUM_PATH)) {
      throw new Error(
        `CHROMIUM_PATH is ${env.CHROMIUM_PATH}, which does not exist: ${INSTALL_HINT}`,
      );
    }
    return env.CHROMIUM_PATH;
  }
  for (const name of BROWSER_NAMES) {
    const found = findOnPath(name, env);
    if (found) return found;
  }
  return playwrightChromium();
}

/** Runs a command to its end; rejects with its last line of output. */
function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = `${output}${chunk.toString()}`.slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (error) => reject(error));
    child.on('close', (code) => {
      if (code === 0) return resolve();
      const last = output.trim().split('\n').at(-1) ?? `exit ${code}`;
      reject(new Error(`${path.basename(command)} ${args.join(' ')}: ${last}`));
    });
  });
}

const isDebianLike = (): boolean => {
  try {
    const release = readFileSync('/etc/os-release', 'utf8');
    return /^(ID|ID_LIKE)=.*\b(debian|ubuntu)\b/m.test(release);
  } catch {
    return false;
  }
};

async function installChromium(log: (line: string) => void): Promise<string> {
  const reasons: string[] = [];
  const cli = path.join(path.dirname(require.resolve('playwright-core/package.json')), 'cli.js');
  log("No Chromium found: trying Playwright's download");
  try {
    await run(process.execPath, [cli, 'install', 'chromium']);
    const downloaded = playwrightChromium();
    if (downloaded) return downloaded;
    reasons.push("Playwright's download left no browser");
  } catch (error) {
    reasons.push(`Playwright's download failed (${(error as Error).message})`);
  }
  if (process.getuid?.() === 0 && isDebianLike()) {
    log("Installing the distribution's chromium package (apt-get install chromium)");
    try {
      await run('apt-get', ['install', '-y', '-q', 'chromium']).catch(async () => {
        await run('apt-get', ['update', '-q']);
        await run('apt-get', ['install', '-y', '-q', 'chromium']);
      });
      const installed = findChromium();
      if (installed) return installed;
      reasons.push('apt-get installed no chromium on PATH');
    } catch (error) {
      reasons.push(`apt-get install chromium failed (${(error as Error).message})`);
    }
  } else {
    reasons.push('not root on Debian or Ubuntu, so the chromium package was not installed');
  }
  throw new Error(
    `No Chromium for the console tests: ${reasons.join('; ')}. To fix it, ${INSTALL_HINT}.`,
  );
}

let resolved: Promise<string> | undefined;

/** The Chromium the tests drive, found or installed once per test file. */
export function resolveChromium(log: (line: string) => void = console.log): Promise<string> {
  resolved ??= Promise.resolve().then(() => findChromium() ?? installChromium(log));
  return resolved;
}

/** Flags for a headless Chromium in a container that talks to nothing but the local API. */
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export interface TestBrowser {
  browser: Browser;
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile of its own (Playwright's temporary user-data-dir). */
export async function launchChromium(): Promise<TestBrowser> {
  const executablePath = await resolveChromium();
  const tmp = path.join(os.tmpdir(), 'audience-sync-chromium');
  await mkdir(tmp, { recursive: true });
  const artifacts = await mkdtemp(path.join(tmp, 'run-'));
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: CHROMIUM_FLAGS,
    downloadsPath: artifacts,
  });
  return {
    browser,
    async close() {
      await browser.close();
      await rm(artifacts, { recursive: true, force: true });
    },
  };
}
