import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { SEARCH_ATTRIBUTES } from '../common/search-attributes.js';
import { type LocalPostgres, startEmbeddedPostgres } from '../dev/postgres.js';
import { startTemporalDevServer } from '../dev/temporal.js';
import { writeWorkflowBundle } from '../worker/bundle-workflows.js';

/**
 * Starts the real services the suite shares, with the same code `npm run dev` uses: Postgres
 * (TEST_DATABASE_URL, else an embedded throwaway cluster) and a Temporal dev server. The workflow
 * code is bundled once for every test file.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // One folder per test run, so runs side by side (an editor and a terminal) never collide.
  const dataDir = path.resolve('.data', 'test', `run-${process.pid}`);
  await mkdir(dataDir, { recursive: true });

  let postgres: LocalPostgres | undefined;
  let postgresUrl = process.env.TEST_DATABASE_URL;
  if (!postgresUrl) {
    const log = createWriteStream(path.join(dataDir, 'postgres.log'));
    postgres = await startEmbeddedPostgres({
      dataDir: path.join(dataDir, 'postgres'),
      port: 56_000 + (process.pid % 1000),
      persistent: false,
      onLog: (line) => log.write(`${line}\n`),
    });
    postgresUrl = postgres.url;
  }

  // Without a Temporal CLI this installs the pinned one (saying so), or fails with one message;
  // Postgres is stopped then, so the failed run ends at once.
  const temporal = await startTemporalDevServer({
    searchAttributes: SEARCH_ATTRIBUTES,
    // Runs continue as new every few batches here, so every test exercises it.
    extraArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=60'],
  }).catch(async (error: unknown) => {
    await postgres?.stop();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  });

  const workflowBundlePath = path.join(dataDir, 'workflow-bundle.js');
  await writeWorkflowBundle(workflowBundlePath);

  project.provide('postgresUrl', postgresUrl);
  project.provide('temporalAddress', temporal.address);
  project.provide('workflowBundlePath', workflowBundlePath);

  return async () => {
    await temporal.stop();
    await postgres?.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
