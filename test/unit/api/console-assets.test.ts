import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { builtConsoleAssets, consoleRouter } from '../../../api/console.js';
import { errorHandler, notFoundHandler } from '../../../api/errors.js';

/** The console's files as the API serves them, from a folder laid out like a build. */
let server: Server | undefined;
let dir: string | undefined;

afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  if (dir) await rm(dir, { recursive: true, force: true });
  server = undefined;
  dir = undefined;
});

async function serve(buildDir: string): Promise<string> {
  const app = express();
  app.use('/console', consoleRouter({ namespace: 'marketing' }, builtConsoleAssets(buildDir)));
  app.use(notFoundHandler);
  app.use(errorHandler);
  server = app.listen(0);
  await new Promise((resolve) => server?.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('the built console', () => {
  it('serves the page uncached and its hashed assets for a year', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'console-build-'));
    await mkdir(path.join(dir, 'assets'));
    await writeFile(path.join(dir, 'index.html'), '<!doctype html><title>console</title>');
    await writeFile(path.join(dir, 'assets', 'index-abc123.js'), 'export {};');
    const url = await serve(dir);

    const page = await fetch(`${url}/console/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(await page.text()).toBe('<!doctype html><title>console</title>');

    const script = await fetch(`${url}/console/assets/index-abc123.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');

    const missing = await fetch(`${url}/console/assets/nothing.js`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');

    const settings = await fetch(`${url}/console/config.json`);
    expect(await settings.json()).toEqual({ namespace: 'marketing' });
  });

  it('says how to build it when the build is missing', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'console-build-'));
    const url = await serve(path.join(dir, 'not-built'));
    const page = await fetch(`${url}/console/`);
    expect(page.status).toBe(503);
    expect(await page.json()).toEqual({
      success: false,
      error: {
        code: 'console_not_built',
        message:
          'The console has not been built: run `npm run build` (or `npm install`) and restart the API',
      },
    });
  });
});
