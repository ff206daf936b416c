import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LoopsClient, RateLimitExceededError } from 'loops';
import { createSql } from '../db/sql.js';

/**
 * The Loops baseline: what a first version of such a sync usually is. One `updateContact` per
 * user with the plain `loops` SDK (it creates the contact when missing), joining the mailing list,
 * awaited one after the other; a `429` (Loops sends no Retry-After) waits a second and tries
 * again. No shared limit, no checkpoints. Prints one JSON line when done.
 */

interface User {
  email: string;
  first_name: string | null;
  last_name: string | null;
}

/** The wait after a 429: Loops' limit is per second, and it says nothing more. */
const WAIT_AFTER_429_MS = 1000;

async function sendWithRetry(send: () => Promise<unknown>): Promise<number> {
  let refused = 0;
  for (;;) {
    try {
      await send();
      return refused;
    } catch (error) {
      if (!(error instanceof RateLimitExceededError)) throw error;
      refused += 1;
      await new Promise((resolve) => setTimeout(resolve, WAIT_AFTER_429_MS));
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      database: { type: 'string' },
      'api-root': { type: 'string' },
      list: { type: 'string' },
    },
  });
  const listId = values.list ?? '';
  const sql = createSql(values.database ?? '', { max: 2 });
  const users = await sql<User[]>`select email, first_name, last_name from users order by id`;
  await sql.end();
  const loops = new LoopsClient('loops_bench_naive_key');
  loops.apiRoot = values['api-root'] ?? '';

  const started = performance.now();
  let refused = 0;
  for (const user of users) {
    refused += await sendWithRetry(() =>
      loops.updateContact({
        email: user.email,
        properties: {
          ...(user.first_name ? { firstName: user.first_name } : {}),
          ...(user.last_name ? { lastName: user.last_name } : {}),
        },
        mailingLists: { [listId]: true },
      }),
    );
  }
  const wallSeconds = (performance.now() - started) / 1000;
  // maxRSS is in kilobytes.
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ wallSeconds, peakRssMb, refused })}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  });
}
