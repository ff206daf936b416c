import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Resend } from 'resend';
import { createSql } from '../db/sql.js';

/**
 * The baselines: what a first version of such a sync usually is. One segment, then one
 * `contacts.create` per user with the plain SDK, either awaited one by one or all at once with
 * Promise.all. No rate limiting, no retries, no checkpoints. Prints one JSON line when done.
 *
 * `resync` is the naive way to keep an existing list (`--segment`) in step, as a cron would:
 * every user in the filter (active in the last 30 days) is sent again (`contacts.create` upserts
 * by email, so renamed users get their new names), then every other user of the table is taken
 * out of the list, one by one, awaited in turn. One request per user, changed or not.
 */
export type NaiveMode = 'sequential' | 'parallel' | 'resync';

interface User {
  email: string;
  active: boolean;
  first_name: string | null;
  last_name: string | null;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mode: { type: 'string' },
      database: { type: 'string' },
      resend: { type: 'string' },
      segment: { type: 'string' },
    },
  });
  const mode = values.mode as NaiveMode;
  const sql = createSql(values.database ?? '', { max: 2 });
  const users = await sql<User[]>`
    select email, first_name, last_name,
      last_active_at >= now() - interval '30 days' and deleted_at is null
        and not marketing_opt_out as active
    from users order by id`;
  await sql.end();
  const resend = new Resend('re_bench_naive_key', { baseUrl: values.resend ?? '' });

  const started = performance.now();
  const segmentId =
    mode === 'resync'
      ? (values.segment ?? '')
      : ((await resend.segments.create({ name: `naive-${mode}` })).data?.id ?? '');
  const send = (user: User) =>
    resend.contacts.create({
      email: user.email,
      ...(user.first_name ? { firstName: user.first_name } : {}),
      ...(user.last_name ? { lastName: user.last_name } : {}),
      segments: [{ id: segmentId }],
    });
  if (mode === 'resync') {
    for (const user of users.filter((candidate) => candidate.active)) await send(user);
    for (const user of users.filter((candidate) => !candidate.active)) {
      await resend.contacts.segments.remove({ email: user.email, segmentId });
    }
  } else if (mode === 'sequential') {
    for (const user of users) await send(user);
  } else {
    await Promise.all(users.map(send));
  }
  const wallSeconds = (performance.now() - started) / 1000;
  // maxRSS is in kilobytes.
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ wallSeconds, peakRssMb, segmentId })}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  });
}
