import { spawn } from 'node:child_process';
import { admin, adminAll, isRateLimited } from './emulator.js';
import { round } from './report.js';
import { type BenchContext, runThroughApi, type ServiceOptions, withService } from './service.js';

/**
 * `--loops`: a per-contact sync of N users into a Loops mailing list through the real stack, at
 * the Loops emulator's limit of R requests per second, beside the naive loop with the plain SDK
 * (bench/naive-loops.ts) against the same emulator in the same run. Loops has no bulk path, so
 * N / R seconds is the physical limit of both.
 */

export interface LoopsScenario {
  users: number;
  rate: number;
}

/** The default scenarios: about a minute of sending each at N / R. */
export const LOOPS_SCENARIOS: LoopsScenario[] = [
  { users: 600, rate: 10 },
  { users: 3000, rate: 50 },
];

export interface LoopsRow {
  system: 'audience-sync-loops' | 'naive-loops-sequential';
  users: number;
  rateLimit: number;
  wallSeconds: number;
  idealSeconds: number;
  efficiency: number;
  /** Requests the emulator answered (every kind, 429s included). */
  requests: number;
  http429: number;
  /** Users not in the mailing list at the end. */
  lost: number;
  /** Contacts the emulator holds twice for one email. */
  duplicates: number;
  peakRssMb: number | null;
}

/** The benchmark's stack, its users' emails and the Loops emulator with its demo mailing list. */
export interface LoopsBenchContext extends BenchContext {
  emails: Set<string>;
  loopsUrl: string;
  loopsApiRoot: string;
  listId: string;
}

interface AdminContact {
  email: string;
  mailingLists: string[];
}

/** What the emulator holds for the users: how many are not in the list, how many twice. */
async function auditLoops(ctx: LoopsBenchContext) {
  const contacts = await adminAll<AdminContact>(ctx.loopsUrl, '/contacts', 'offset');
  const members = new Set(
    contacts
      .filter((contact) => contact.mailingLists.includes(ctx.listId))
      .map((contact) => contact.email.toLowerCase()),
  );
  const requests = await adminAll<{ outcome: string }>(ctx.loopsUrl, '/requests', 'since_seq');
  const stats = await admin<{ requests: number }>(ctx.loopsUrl, '/stats');
  return {
    lost: [...ctx.emails].filter((email) => !members.has(email)).length,
    duplicates:
      contacts.length - new Set(contacts.map((contact) => contact.email.toLowerCase())).size,
    http429: requests.filter((entry) => isRateLimited(entry)).length,
    requests: stats.requests,
  };
}

const loopsRow = (
  system: LoopsRow['system'],
  scenario: LoopsScenario,
  wallSeconds: number,
  found: Awaited<ReturnType<typeof auditLoops>>,
  peakRssMb: number | null,
): LoopsRow => {
  const idealSeconds = scenario.users / scenario.rate;
  return {
    system,
    users: scenario.users,
    rateLimit: scenario.rate,
    wallSeconds: round(wallSeconds),
    idealSeconds: round(idealSeconds),
    efficiency: round(idealSeconds / wallSeconds, 3),
    ...found,
    peakRssMb: peakRssMb === null ? null : round(peakRssMb, 1),
  };
};

/** A fresh emulator (no contacts, no log) at the scenario's rate; the mailing lists stay. */
async function resetLoops(ctx: LoopsBenchContext, rate: number): Promise<void> {
  await admin(ctx.loopsUrl, '/reset', 'POST');
  await admin(ctx.loopsUrl, '/config', 'PUT', { rateLimit: rate });
}

/** The service: a worker and the API configured for Loops, one sync into the mailing list. */
async function benchServiceOnLoops(
  ctx: LoopsBenchContext,
  scenario: LoopsScenario,
  service: Omit<ServiceOptions, 'bulk' | 'platformSettings'>,
): Promise<LoopsRow> {
  const platformSettings = {
    LOOPS_API_KEY: 'loops_bench_audience_sync_key',
    LOOPS_BASE_URL: ctx.loopsApiRoot,
    // The team's limit as the emulator has it: the service never goes above it.
    LOOPS_RATE_LIMIT: String(scenario.rate),
  };
  return withService(
    ctx,
    { ...service, bulk: 'off', platformSettings },
    async ({ apiUrl, worker }) => {
      const started = performance.now();
      const { result } = await runThroughApi(ctx, apiUrl, '/api/marketing/sync', {
        platform: 'loops',
        list_id: ctx.listId,
        sync_type: 'all',
      });
      const wallSeconds = (performance.now() - started) / 1000;
      const { added, processed, failed, skipped } = result.progress;
      if (added !== scenario.users) {
        throw new Error(
          `the Loops run added ${added} of ${scenario.users} (processed ${processed}, skipped ${skipped}, failed ${failed})`,
        );
      }
      return loopsRow(
        'audience-sync-loops',
        scenario,
        wallSeconds,
        await auditLoops(ctx),
        worker.peakRssMb() ?? null,
      );
    },
  );
}

/** bench/naive-loops.ts in a process of its own, as a separate cron job would be. */
async function benchNaiveOnLoops(
  ctx: LoopsBenchContext,
  scenario: LoopsScenario,
): Promise<LoopsRow> {
  const child = spawn(
    process.execPath,
    [
      ...['--import', 'tsx', 'bench/naive-loops.ts'],
      ...['--database', ctx.databaseUrl, '--api-root', ctx.loopsApiRoot, '--list', ctx.listId],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the naive Loops loop exited with ${code}`);
  const { wallSeconds, peakRssMb } = JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as {
    wallSeconds: number;
    peakRssMb: number;
  };
  return loopsRow(
    'naive-loops-sequential',
    scenario,
    wallSeconds,
    await auditLoops(ctx),
    peakRssMb,
  );
}

/**
 * One scenario on the users of `ctx` (seeded by the caller, `scenario.users` of them): the service,
 * then the naive loop, each on a fresh emulator at the scenario's rate.
 */
export async function runLoopsScenario(
  ctx: LoopsBenchContext,
  scenario: LoopsScenario,
  service: Omit<ServiceOptions, 'bulk' | 'platformSettings'>,
  log: (line: string) => void,
): Promise<LoopsRow[]> {
  await resetLoops(ctx, scenario.rate);
  log(`audience-sync on Loops: ${scenario.users} users at ${scenario.rate}/s …`);
  const serviceRow = await benchServiceOnLoops(ctx, scenario, service);
  await resetLoops(ctx, scenario.rate);
  log(`naive-loops-sequential: ${scenario.users} users at ${scenario.rate}/s …`);
  const naiveRow = await benchNaiveOnLoops(ctx, scenario);
  return [serviceRow, naiveRow];
}
