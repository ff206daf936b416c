import path from 'node:path';
import type { PlatformDeclaration } from '../activities/platforms/declaration.js';
import { declarationOf } from '../activities/platforms/registry.js';
import { possessive } from '../common/words.js';
import type { DevStackInfo, PlatformInfo } from './stack.js';

export interface BannerSecret {
  value: string;
  /** The stack's own: printed. Configured by the user: referred to, never echoed. */
  generated: boolean;
  /** Where the stack's own secret is kept across restarts. */
  file?: string;
}

export interface BannerInput {
  info: DevStackInfo;
  secret: BannerSecret;
  startupMs: number;
  /** Paths are shown relative to this folder. */
  cwd: string;
}

/** The last line of the banner; scripts wait for it. */
export const READY_LINE = 'audience-sync ready';

/** What `npm run dev` prints once the API answers: where everything is and how to try it. */
export function renderBanner({ info, secret, startupMs, cwd }: BannerInput): string {
  const shown = (file: string) => {
    const relative = path.relative(cwd, file);
    return path.isAbsolute(file) && relative && !relative.startsWith('..') ? relative : file;
  };
  const rows: [string, string][] = [
    ['Console', `${info.apiUrl}/console/  (sign in with the marketing secret below)`],
    ['API', `${info.apiUrl}  (OpenAPI ${info.apiUrl}/openapi.json, metrics /metrics)`],
    ...temporalRows(info, shown),
    ...info.platforms.flatMap((platform) => platformRows(info.apiUrl, platform)),
    ['Postgres', describeDatabase(info, shown)],
    ['Data', describeData(info, shown)],
    ['Marketing secret', describeSecret(secret, shown)],
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  return [
    '',
    `audience-sync is running (ready in ${(startupMs / 1000).toFixed(1)} s)`,
    '',
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}${value}`),
    '',
    'Try it (paste into a shell):',
    '',
    ...curlExamples(info, secret),
    'Stop everything with Ctrl-C (data is kept).',
    READY_LINE,
    '',
  ].join('\n');
}

function describeSecret(secret: BannerSecret, shown: (file: string) => string): string {
  if (!secret.generated) return 'MARKETING_API_SECRET from your environment or .env';
  if (!secret.file) {
    return `${secret.value}  (generated for this session; set MARKETING_API_SECRET in .env to keep one)`;
  }
  return `${secret.value}  (kept in ${shown(secret.file)} across restarts; set MARKETING_API_SECRET in .env to choose one)`;
}

function temporalRows(info: DevStackInfo, shown: (file: string) => string): [string, string][] {
  const where = `namespace ${info.namespace}, task queue ${info.taskQueue}`;
  if (info.temporal.kind === 'external') {
    return [['Temporal', `${info.temporal.address} (TEMPORAL_ADDRESS), ${where}`]];
  }
  return [
    ['Temporal Web UI', info.temporal.uiUrl ?? '(not started)'],
    [
      'Temporal server',
      `${info.temporal.address}, ${where} (dev server: ${shown(info.temporal.source)})`,
    ],
  ];
}

const declared = (platform: PlatformInfo): PlatformDeclaration => {
  const declaration = declarationOf(platform.name);
  if (!declaration) throw new Error(`no platform named ${platform.name} is declared`);
  return declaration;
};

/** A platform's line (its emulator, or the platform itself) and its webhooks' line. */
function platformRows(apiUrl: string, platform: PlatformInfo): [string, string][] {
  const declaration = declared(platform);
  const route = `${apiUrl}/webhooks/${platform.name}`;
  if (platform.kind === 'emulator') {
    const { summary, webhooks } = platform.description;
    return [
      [declaration.title, summary],
      ...(webhooks
        ? [
            [`${declaration.title} webhooks`, webhooks.replaceAll('{route}', route)] as [
              string,
              string,
            ],
          ]
        : []),
    ];
  }
  const { webhook } = declaration;
  return [
    [declaration.title, `${platform.baseUrl} (${declaration.credential} is set)`],
    ...(webhook
      ? [
          [
            `${declaration.title} webhooks`,
            `${declaration.title} can send ${webhook.consentEvents.join(', ')} to ${route} once ` +
              `it is reachable from the internet: ${webhook.secretHint}`,
          ] as [string, string],
        ]
      : []),
  ];
}

function describeDatabase(info: DevStackInfo, shown: (file: string) => string): string {
  const { database } = info;
  if (database.kind === 'external') return `${database.where} (DATABASE_URL; no demo users seeded)`;
  const users =
    database.seededUsers === undefined
      ? `users from "${info.usersSource}" as they are`
      : `${database.seededUsers} demo users seeded into "${info.usersSource}"`;
  return `embedded, port ${database.port}, database ${database.database} in ${shown(database.dataDir)}; ${users}`;
}

function describeData(info: DevStackInfo, shown: (file: string) => string): string {
  const places = [
    ...(info.database.kind === 'embedded' ? [shown(info.database.dataDir)] : []),
    ...(info.temporal.kind === 'dev-server' ? [shown(info.temporal.dataFile)] : []),
  ];
  if (places.length === 0) return 'in your own Postgres and Temporal';
  return `${places.join(' and ')} (kept across restarts; delete to start afresh)`;
}

/** A commented command; a comment of several lines is split at its line breaks. */
type Example = (comment: string, ...command: string[]) => string[];

function curlExamples(info: DevStackInfo, secret: BannerSecret): string[] {
  const { apiUrl } = info;
  // The preference-page example is the Resend emulator's admin route.
  const resend = info.platforms.find((platform) => platform.name === 'resend');
  const emulatorUrl = resend?.kind === 'emulator' ? resend.url : undefined;
  const auth = secret.generated
    ? `-H 'Authorization: Bearer ${secret.value}'`
    : `-H "Authorization: Bearer $MARKETING_API_SECRET"`;
  const json = `-H 'Content-Type: application/json'`;
  const base = `${apiUrl}/api/marketing`;
  const example: Example = (comment, ...command) => [
    ...comment.split('\n').map((line) => `  # ${line}`),
    ...command.map((part, index) =>
      index < command.length - 1 ? `  ${index ? '  ' : ''}${part} \\` : `    ${part}`,
    ),
    '',
  ];
  return [
    ...example(
      'Preview: how many users active in the last 30 days a sync would add',
      `curl -sS '${base}/sync-users?filterActive=true&activeDays=30'`,
      auth,
    ),
    ...example(
      'Sync them into a new audience (answers with a runId; 202 while it still runs)',
      `curl -sS -X POST '${base}/sync-users'`,
      `${auth} ${json}`,
      `-d '{"audienceName":"Active users (dev)","filterActive":true,"activeDays":30}'`,
    ),
    ...example(
      'Status of a run: put the runId from the answer above in place of <runId>; a 202 means\n' +
        'it still runs: ask again until "status" is no longer "running"',
      `curl -sS '${base}/sync-users/<runId>'`,
      auth,
    ),
    ...example(
      'General sync with tags into a new list (answers with its list_id); list_name makes a new\n' +
        'list at every call, even with the same name: sync into it again with "list_id"',
      `curl -sS -X POST '${base}/sync'`,
      `${auth} ${json}`,
      `-d '{"platform":"resend","list_name":"Newsletter (dev)","sync_type":"all","tags":["newsletter","dev"]}'`,
    ),
    ...demoListExamples(info, base, auth, json, example),
    ...example(
      "Dry run of a sync: nothing is written to Resend and no list is created; the answer's\n" +
        '"plan" names the users it would create, join, update and skip (with a list_id and\n' +
        '"mode":"mirror", also those it would remove)',
      `curl -sS -X POST '${base}/sync'`,
      `${auth} ${json}`,
      `-d '{"platform":"resend","list_name":"Newsletter (dev)","sync_type":"all","dry_run":true}'`,
    ),
    ...example(
      'Every 6 hours, add new users to the "Newsletter (dev)" list: put its list_id in place of <list_id>',
      `curl -sS -X POST '${base}/schedules'`,
      `${auth} ${json}`,
      `-d '{"scheduleId":"newsletter-new-users","every":"6h","sync":{"platform":"resend","list_id":"<list_id>","sync_type":"new"}}'`,
    ),
    ...example(
      'Run that schedule now, without waiting for its time',
      `curl -sS -X POST '${base}/schedules/newsletter-new-users/trigger'`,
      auth,
    ),
    ...mirrorExamples(info, base, auth, json, example),
    ...(emulatorUrl
      ? example(
          'A contact unsubscribes from a preference page (emulator): its webhook reaches the API',
          `curl -sS -X POST '${emulatorUrl}/_emulator/contacts/unsubscribe'`,
          json,
          `-d '{"email":"<an email the sync added>"}'`,
        )
      : []),
    ...example(
      'Opt-outs made in Resend (unsubscribed, deleted, suppressed), oldest first',
      `curl -sS '${base}/opt-outs?after=0&limit=100'`,
      auth,
    ),
  ];
}

/**
 * For each platform whose emulator has a demo list (Loops' mailing lists cannot be created
 * through its API, so a sync names one): a sync of the active users into it.
 */
function demoListExamples(
  info: DevStackInfo,
  base: string,
  auth: string,
  json: string,
  example: Example,
): string[] {
  return info.platforms.flatMap((platform) => {
    const list = platform.kind === 'emulator' ? platform.description.demoList : undefined;
    if (!list) return [];
    const { title, capabilities, client } = declared(platform);
    const notYet = client
      ? ''
      : `\n(this version cannot sync with ${title} yet: it answers 501 platform_not_available)`;
    return example(
      `Sync the users active in the last 30 days into ${possessive(title)} demo ${capabilities.listWord} ` +
        `"${list.name}"${notYet}`,
      `curl -sS -X POST '${base}/sync'`,
      `${auth} ${json}`,
      `-d '{"platform":"${platform.name}","list_id":"${list.id}","sync_type":"all","filterActive":true,"activeDays":30}'`,
    );
  });
}

/**
 * A mirror list, five demo users made inactive (ids 1-5 of the demo mix are active, sendable and
 * share their email with nobody), the list mirrored again, and where the Web UI shows it.
 */
function mirrorExamples(
  info: DevStackInfo,
  base: string,
  auth: string,
  json: string,
  example: Example,
): string[] {
  const mirror = `"sync_type":"all","mode":"mirror","filterActive":true,"activeDays":30`;
  const database = info.database.kind === 'embedded' ? `'${info.database.url}'` : '"$DATABASE_URL"';
  const ui =
    info.temporal.kind === 'dev-server' && info.temporal.uiUrl
      ? `the Temporal Web UI (${info.temporal.uiUrl})`
      : 'the Temporal Web UI';
  return [
    ...example(
      'Mirror: a list kept equal to the users active in the last 30 days (answers with its list_id)',
      `curl -sS -X POST '${base}/sync'`,
      `${auth} ${json}`,
      `-d '{"platform":"resend","list_name":"Active users, mirrored (dev)",${mirror}}'`,
    ),
    ...example(
      'Make five of them leave: inactive for 90 days (any Postgres client will do)',
      `psql ${database}`,
      `-c "update ${info.usersSource} set last_active_at = now() - interval '90 days' where id between 1 and 5"`,
    ),
    ...example(
      `Mirror again into that list (its list_id in place of <list_id>): it answers "removed":5.\n` +
        `In ${ui}, filter by SyncListId = "<list_id>" and open the newest run:\n` +
        'its current details say "leavers: 5 of 5 removed"',
      `curl -sS -X POST '${base}/sync'`,
      `${auth} ${json}`,
      `-d '{"platform":"resend","list_id":"<list_id>",${mirror}}'`,
    ),
  ];
}
