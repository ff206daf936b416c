import { Runtime } from '@temporalio/worker';
import { readDevSettings } from '../../dev/settings.js';
import { type DevStack, startDevStack } from '../../dev/stack.js';
import { createLogger } from '../../telemetry/logger.js';
import { temporalLogger } from '../../telemetry/temporal-logger.js';

/**
 * The stack `npm run fuzz` tests, in a process of its own that test/fuzz/main.ts starts: the
 * same services as `npm run dev` (dev/stack.ts), configured from the environment it is given,
 * with its data in FUZZ_DATA_DIR. Its output (its logs and those of the services) goes where the
 * parent points it. Once the API answers it sends `{ apiUrl }` to the parent; on SIGTERM, or when
 * the parent goes away, it stops everything it started, in order, and exits.
 */

const dataDir = process.env.FUZZ_DATA_DIR;
if (!dataDir) throw new Error('FUZZ_DATA_DIR is not set: test/fuzz/main.ts starts this process');

const settings = readDevSettings(process.env);
const logger = createLogger(settings.logLevel, 'audience-sync-fuzz');
Runtime.install({ logger: temporalLogger(logger, settings.logLevel), shutdownSignals: [] });

const abort = new AbortController();
let stack: DevStack | undefined;
let stopping = false;

async function stop(reason: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ reason }, 'stopping');
  abort.abort(new Error(`stopped: ${reason}`));
  // Still starting: the start gives up at its next step and stops what it started (below).
  if (!stack) return;
  process.exit((await stack.teardown.run(logger)) ? 0 : 1);
}

process.once('SIGTERM', () => void stop('SIGTERM'));
process.once('SIGINT', () => void stop('SIGINT'));
process.once('disconnect', () => void stop('the fuzz run ended'));

try {
  stack = await startDevStack({ settings, dataDir, logger, signal: abort.signal });
} catch (error) {
  // startDevStack stopped whatever it had started.
  if (!stopping) logger.error({ err: error }, 'the stack did not start');
  process.exit(stopping ? 0 : 1);
}
if (stopping) process.exit((await stack.teardown.run(logger)) ? 0 : 1);
process.send?.({ apiUrl: stack.info.apiUrl });
