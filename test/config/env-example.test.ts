import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DECLARATIONS } from '../../activities/platforms/registry.js';
import { apiConfigSchema, ConfigError, parseConfig, workerConfigSchema } from '../../config/env.js';
import { devOnlySchema } from '../../dev/settings.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

interface ExampleVariable {
  name: string;
  value: string;
  /** Written as `# NAME=value`: documented but unset. */
  commentedOut: boolean;
  /** The comment line right above it. */
  comment: string | undefined;
}

/** Reads `NAME=value` and `# NAME=value` lines of .env.example with the comment above each. */
function readEnvExample(): ExampleVariable[] {
  const lines = readFileSync(path.join(root, '.env.example'), 'utf8').split('\n');
  const variable = /^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/;
  const variables: ExampleVariable[] = [];
  lines.forEach((line, index) => {
    const match = variable.exec(line.trim());
    if (!match?.[2]) return;
    const above = lines[index - 1]?.trim();
    const aboveIsComment = above?.startsWith('#') && !variable.test(above);
    variables.push({
      name: match[2],
      value: match[3] ?? '',
      commentedOut: Boolean(match[1]),
      comment: aboveIsComment ? above : undefined,
    });
  });
  return variables;
}

const configFields = [
  ...new Set([...Object.keys(apiConfigSchema.shape), ...Object.keys(workerConfigSchema.shape)]),
];

describe('.env.example', () => {
  const example = readEnvExample();
  const documented = new Set(example.map((entry) => entry.name));

  it('documents every variable the API and the worker read', () => {
    expect(configFields.filter((name) => !documented.has(name))).toEqual([]);
  });

  it('documents every variable of the local stack', () => {
    const devFields = Object.keys(devOnlySchema.shape);
    expect(devFields.filter((name) => !documented.has(name))).toEqual([]);
  });

  it('lists each variable once, with a one-line comment above it', () => {
    const names = example.map((entry) => entry.name);
    expect(names.filter((name, index) => names.indexOf(name) !== index)).toEqual([]);
    expect(example.filter((entry) => !entry.comment).map((entry) => entry.name)).toEqual([]);
  });

  it('holds values the configuration accepts, uncommented ones and commented-out ones alike', () => {
    const values = Object.fromEntries(example.map((entry) => [entry.name, entry.value]));
    expect(() => parseConfig(apiConfigSchema, values)).not.toThrow();
    expect(() => parseConfig(workerConfigSchema, values)).not.toThrow();
    expect(() => parseConfig(devOnlySchema, values)).not.toThrow();
  });

  it("documents every platform's variables and its emulator's, as the registry declares them", () => {
    const declared = DECLARATIONS.flatMap((platform) => [
      ...Object.keys(platform.settings),
      ...(platform.emulator
        ? [platform.emulator.port.variable, platform.emulator.rateLimit.variable]
        : []),
    ]);
    expect(declared).toEqual(
      expect.arrayContaining(['RESEND_API_KEY', 'LOOPS_API_KEY', 'LOOPS_EMULATOR_PORT']),
    );
    expect(declared.filter((name) => !documented.has(name))).toEqual([]);
  });

  it('leaves what `npm run dev` provides itself unset, so a copied file still runs it all', () => {
    // Every platform with an emulator runs as it while its credentials are unset.
    const emulated = DECLARATIONS.filter((platform) => platform.emulator).map(
      (platform) => platform.credential,
    );
    const provided = ['MARKETING_API_SECRET', 'DATABASE_URL', 'TEMPORAL_ADDRESS', ...emulated];
    expect(provided).toEqual(expect.arrayContaining(['RESEND_API_KEY', 'LOOPS_API_KEY']));
    const set = example.filter((entry) => !entry.commentedOut).map((entry) => entry.name);
    expect(set.filter((name) => provided.includes(name))).toEqual([]);
  });
});

const VALID_SECRET = 'a'.repeat(32);

describe('configuration', () => {
  it('refuses a marketing secret shorter than 32 characters', () => {
    const env = { DATABASE_URL: 'postgres://localhost/db', LOOPS_API_KEY: 'loops_abc123' };
    expect(() =>
      parseConfig(apiConfigSchema, { ...env, MARKETING_API_SECRET: VALID_SECRET.slice(1) }),
    ).toThrow(/MARKETING_API_SECRET must be at least 32 characters/);
    expect(
      parseConfig(apiConfigSchema, { ...env, MARKETING_API_SECRET: VALID_SECRET }),
    ).toMatchObject({ MARKETING_API_SECRET: VALID_SECRET });
  });

  it('names every problem at once', () => {
    try {
      parseConfig(apiConfigSchema, { PORT: 'x', LOG_LEVEL: 'loud' });
      expect.unreachable('the configuration is invalid');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      for (const name of ['MARKETING_API_SECRET', 'DATABASE_URL', 'PORT', 'LOG_LEVEL']) {
        expect(problems).toContain(name);
      }
    }
  });
});

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a process entry with nothing from this environment but PATH, and waits for its exit. */
function runEntry(entry: string, env: Record<string, string>): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    // A process that got past its configuration would go on to connect; it must not get there.
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${entry} did not exit; stderr so far:\n${stderr}`));
    }, 30_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(deadline);
      resolve({ code, stdout, stderr });
    });
  });
}

function expectOneConfigMessage(result: Exit, names: string[]): void {
  expect(result.code).toBe(1);
  expect(result.stderr.match(/Invalid configuration/g)).toHaveLength(1);
  for (const name of names) expect(result.stderr).toContain(name);
  // A message for operators, not a crash: no stack trace.
  expect(result.stderr).not.toMatch(/^\s+at /m);
}

describe('process start with a bad configuration', () => {
  it('the API exits with 1 and one message naming every missing variable', async () => {
    const result = await runEntry('api/main.ts', {});
    expectOneConfigMessage(result, [
      'MARKETING_API_SECRET is required',
      'DATABASE_URL is required',
    ]);
  });

  it('the API exits with 1 and one message naming every invalid value', async () => {
    const result = await runEntry('api/main.ts', {
      MARKETING_API_SECRET: 'too-short',
      DATABASE_URL: 'mysql://localhost/app',
      PORT: 'eighty',
      LOG_LEVEL: 'loud',
      SYNC_WAIT_SECONDS: '9999',
      USERS_SOURCE: 'users; drop table users',
      TEMPORAL_TLS_CLIENT_CERT_PATH: '/certs/client.pem',
    });
    expectOneConfigMessage(result, [
      'MARKETING_API_SECRET must be at least 32 characters',
      'DATABASE_URL',
      'PORT',
      'LOG_LEVEL',
      'SYNC_WAIT_SECONDS',
      'USERS_SOURCE',
      'TEMPORAL_TLS_CLIENT_KEY_PATH',
    ]);
  });

  it('the worker exits with 1 and one message naming every problem', async () => {
    const result = await runEntry('worker/main.ts', {
      RESEND_API_KEY: 'not-a-resend-key',
      SYNC_BATCH_SIZE: '0',
    });
    expectOneConfigMessage(result, [
      'DATABASE_URL is required',
      'RESEND_API_KEY',
      'SYNC_BATCH_SIZE',
    ]);
  });

  it('npm run dev refuses to start anything and names every problem', async () => {
    const result = await runEntry('dev/stack-process.ts', {
      MARKETING_API_SECRET: 'too-short',
      LOG_LEVEL: 'loud',
      DEV_POSTGRES_PORT: '0',
      DEMO_USERS: 'many',
    });
    expectOneConfigMessage(result, [
      'MARKETING_API_SECRET',
      'LOG_LEVEL',
      'DEV_POSTGRES_PORT',
      'DEMO_USERS',
    ]);
  });
});
