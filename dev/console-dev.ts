import type { Server } from 'node:http';
import path from 'node:path';
import type { ConsoleAssets } from '../api/server.js';
import { projectRootOf } from './project-root.js';

/**
 * The console as `npm run dev` serves it: Vite in middleware mode inside the API, on the API's own
 * port, compiling console/ on request and reloading the page when a file changes (its reload
 * channel shares the API's server, so the console stays one origin).
 */
export async function consoleDevAssets(server: Server): Promise<ConsoleAssets> {
  const { createServer } = await import('vite');
  const root = projectRootOf(import.meta.url);
  const vite = await createServer({
    configFile: path.join(root, 'console', 'vite.config.ts'),
    appType: 'spa',
    logLevel: 'warn',
    server: { middlewareMode: true, hmr: { server } },
  });
  return {
    // Mounted at /console, where Express strips the prefix; Vite serves under its base /console/.
    handler: (req, res, next) => {
      req.url = req.originalUrl;
      vite.middlewares(req, res, next);
    },
    close: () => vite.close(),
  };
}
