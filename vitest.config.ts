import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Three projects:
 * - `unit`: pure code, no services, no global setup; seconds (`npm run test:unit`).
 * - `workflows`: SyncUsersWorkflow with stub activities, on a Temporal dev server each file
 *   starts (`npm run test:workflows`).
 * - `stack`: the product through its real services (Postgres, Temporal, the Resend emulator),
 *   started once by test/global-setup.ts for the whole project.
 * `npm test` runs both.
 */
export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 5_000,
        },
      },
      {
        test: {
          // The workflow with stub activities on a Temporal dev server of its own per file: no
          // Postgres, no platform.
          name: 'workflows',
          include: ['test/workflows/**/*.test.ts'],
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 30_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'stack',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/unit/**', 'test/workflows/**'],
          globalSetup: ['test/support/keep-exit-code.ts', 'test/global-setup.ts'],
          // One file at a time: the suite shares one Postgres and one Temporal dev server on 2
          // cores, and Temporal's native worker is happiest in forked processes.
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
