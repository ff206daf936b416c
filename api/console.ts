import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type RequestHandler, Router } from 'express';
import { ApiError } from './errors.js';

/**
 * The marketing console's pages at /console: the files `npm run build` (and `npm install`) built
 * into dist/console, served by the API process itself, so nothing is fetched from another host.
 * `npm run dev` passes Vite's middleware instead, which serves the sources with reload.
 */

const here = path.dirname(fileURLToPath(import.meta.url));

/** dist/console beside the compiled API (dist/api), or in dist/ when run from the sources. */
export const CONSOLE_BUILD_DIR =
  path.basename(path.dirname(here)) === 'dist'
    ? path.join(here, '..', 'console')
    : path.join(here, '..', 'dist', 'console');

/** Serves a built console. The hashed assets are kept for a year; the page is checked each time. */
export function builtConsoleAssets(dir: string = CONSOLE_BUILD_DIR): RequestHandler {
  const files = express.static(dir, {
    index: 'index.html',
    setHeaders: (res, file) => {
      const hashed = file.startsWith(path.join(dir, 'assets') + path.sep);
      res.setHeader('Cache-Control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  return (req, res, next) => {
    if (existsSync(path.join(dir, 'index.html'))) return files(req, res, next);
    if (req.path !== '/' && req.path !== '/index.html') return next();
    next(
      new ApiError(
        503,
        'console_not_built',
        'The console has not been built: run `npm run build` (or `npm install`) and restart the API',
      ),
    );
  };
}

export interface ConsoleSettings {
  /** The Temporal Web UI, for the link from a run to its workflow (TEMPORAL_UI_URL). */
  temporalUiUrl?: string;
  namespace: string;
}

/**
 * /console: the console's settings (no secret, nothing about users) and its pages. The session
 * routes under /console are mounted before this router.
 */
export function consoleRouter(settings: ConsoleSettings, assets: RequestHandler): Router {
  const router = Router();
  router.get('/config.json', (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.json(settings);
  });
  router.use(assets);
  return router;
}
