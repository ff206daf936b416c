/**
 * What the console says about runs, schedules and opt-outs, in words a marketer reads. Pure
 * functions of the API's answers, so they are unit-tested without a browser.
 */

export interface Progress {
  total: number;
  processed: number;
  added: number;
  updated: number;
  skipped: number;
  failed: number;
  removed: number;
  unsubscribed: number;
}

const plural = (count: number, one: string, many = `${one}s`): string =>
  `${count.toLocaleString('en-US')} ${count === 1 ? one : many}`;

const number = (count: number): string => count.toLocaleString('en-US');

/** "a, b and c" */
export function listInWords(parts: string[]): string {
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
}

/**
 * The run's counts and how they add up: every user read is added, skipped or failed; updated is
 * part of added; removed and unsubscribed count contacts beside that sum.
 */
export function countsInWords(progress: Progress): string[] {
  const { processed, added, updated, skipped, failed, removed, unsubscribed, total } = progress;
  const sentences = [
    `${number(added)} added + ${number(skipped)} skipped + ${number(failed)} failed = ` +
      `${plural(processed, 'user')} processed${total > 0 ? ` of ${number(total)}` : ''}.`,
    `${number(updated)} updated: users added or already in the list whose fields changed (part of the ${number(added)} added).`,
  ];
  if (removed > 0 || unsubscribed > 0) {
    sentences.push(
      `${number(removed)} removed from the list and ${number(unsubscribed)} marked unsubscribed: ` +
        'contacts outside the users synced, beside the sum above.',
    );
  } else {
    sentences.push('0 removed from the list.');
  }
  return sentences;
}

export type RunState = 'running' | 'paused' | 'completed' | 'failed' | 'cancelled';

const STATE_WORDS: Record<RunState, string> = {
  running: 'Running',
  paused: 'Paused: it continues from where it stopped when resumed',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled: users already added stay in the list',
};

export function stateInWords(state: string): string {
  return STATE_WORDS[state as RunState] ?? state;
}

/** Where a run stands, in one line. */
export function phaseInWords(run: {
  status: string;
  progress: Progress;
  dryRun?: boolean;
  platformUnavailableSince?: string;
}): string {
  const { status, progress } = run;
  const kind = run.dryRun ? 'Dry run' : 'Sync';
  if (status === 'running' && run.platformUnavailableSince) {
    return `${kind} waiting: the platform has not answered since ${timeInWords(run.platformUnavailableSince)}; it keeps retrying.`;
  }
  if (status === 'running' && progress.total === 0 && progress.processed === 0) {
    return `${kind} starting: reading the users.`;
  }
  if (status === 'running') {
    return `${kind} running: ${number(progress.processed)} of ${plural(progress.total, 'user')} processed.`;
  }
  return `${kind} ${stateInWords(status).toLowerCase()}.`;
}

const REASON_WORDS: Record<string, string> = {
  invalid_email: 'the email is missing or not valid',
  opted_out: 'the user opted out of marketing in the app',
  not_found: 'no user has this id',
  duplicate_email: 'another user has the same email',
  unsubscribed_in_platform: 'the contact unsubscribed on the platform',
  deleted_in_platform: 'the contact was deleted on the platform',
  suppressed: "the platform's suppression list has the email",
  erased: 'the user was erased',
};

/** A skip or failure reason, with what it means when the console knows it. */
export function reasonInWords(reason: string): string {
  const words = REASON_WORDS[reason];
  return words ? `${reason} (${words})` : reason;
}

const ORIGIN_WORDS: Record<string, string> = {
  unsubscribed: 'Unsubscribed on the platform',
  deleted: 'Contact deleted on the platform',
  suppressed: 'Email suppressed by the platform',
  erased: 'Erased (all their data deleted)',
  lifted: 'Opt-out lifted: the app says they consented again',
};

export function originInWords(origin: string): string {
  return ORIGIN_WORDS[origin] ?? origin;
}

/** A time as the reader's locale shows it, in their time zone; "" for none. */
export function timeInWords(iso: string | undefined | null): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}

/** User ids pasted from a spreadsheet or a list: split on commas, semicolons and white space. */
export function parseUserIds(text: string): string[] {
  const ids = text
    .split(/[\s,;]+/)
    .map((id) => id.trim())
    .filter(Boolean);
  return [...new Set(ids)];
}

/** "every 6h", "cron 0 * * * *", or both, as a schedule answer describes its spec. */
export function scheduleSpecInWords(spec: {
  cron: string[];
  every: string[];
  timezone?: string;
}): string {
  const parts = [
    ...spec.every.map((every) => `every ${every}`),
    ...spec.cron.map((cron) => `cron "${cron}"`),
  ];
  const zone = spec.timezone ? ` (${spec.timezone})` : '';
  return parts.length ? `${listInWords(parts)}${zone}` : 'no recurring times';
}

const SYNC_TYPE_WORDS: Record<string, string> = {
  all: 'all users',
  new: 'new users',
  specific: 'given users',
};

/** "Mirror of all users, by schedule nightly": what a run was asked to do and who started it. */
export function runKindInWords(run: {
  syncType?: string;
  mode?: string;
  trigger?: string;
  scheduleId?: string | null;
}): string {
  const who = SYNC_TYPE_WORDS[run.syncType ?? ''] ?? run.syncType ?? 'users';
  const what = run.mode === 'mirror' ? `Mirror of ${who}` : `Add ${who}`;
  const by =
    run.trigger === 'schedule'
      ? `started by the schedule ${run.scheduleId ?? ''}`.trimEnd()
      : 'started through the API or this console';
  return `${what}, ${by}`;
}
