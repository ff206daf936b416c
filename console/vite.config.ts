import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * The marketing console: Preact pages built by Vite into dist/console, which the API serves at
 * /console (npm run dev serves the sources through Vite's middleware instead, with reload).
 */
export default defineConfig({
  root: here,
  base: '/console/',
  // Vite's own transformer (Oxc) compiles the JSX for Preact: no Babel, no plugin.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  publicDir: false,
  clearScreen: false,
  build: {
    outDir: path.join(here, '..', 'dist', 'console'),
    emptyOutDir: true,
    target: 'es2022',
    // The Content-Security-Policy allows scripts, styles and images from the API's own origin
    // only: no inline polyfill, no data: URLs.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
});
