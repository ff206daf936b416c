import { describe, expect, it } from 'vitest';
import {
  apiConfigSchema,
  ConfigError,
  parseConfig,
  workerConfigSchema,
} from '../../../config/env.js';

const SECRET = 'a'.repeat(32);
const LOOPS_KEY = 'loops_abc123';
/** A Loops-only deployment: no Resend key. */
const API_MINIMUM = {
  MARKETING_API_SECRET: SECRET,
  DATABASE_URL: 'postgres://db.internal/app',
  LOOPS_API_KEY: LOOPS_KEY,
};
/** The platforms' defaults, with Loops' key as the one platform configured. */
const PLATFORM_DEFAULTS = {
  LOOPS_API_KEY: LOOPS_KEY,
  LOOPS_BASE_URL: 'https://app.loops.so/api/',
  LOOPS_RATE_LIMIT: 10,
  RESEND_BASE_URL: 'https://api.resend.com',
  RESEND_BULK: 'auto',
};
const WORKER_MINIMUM = { DATABASE_URL: 'postgres://db.internal/app', RESEND_API_KEY: 're_abc123' };

/** The problems a refused configuration names, in order. */
function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

describe('the API configuration', () => {
  it('fills every default from the required values and one platform', () => {
    expect(parseConfig(apiConfigSchema, API_MINIMUM)).toEqual({
      ...PLATFORM_DEFAULTS,
      MARKETING_API_SECRET: SECRET,
      DATABASE_URL: 'postgres://db.internal/app',
      USERS_SOURCE: 'users',
      SYNC_WAIT_SECONDS: 20,
      MAX_CONCURRENT_RUNS: 10,
      MAX_CONCURRENT_DRY_RUNS: 5,
      MAX_SCHEDULES: 100,
      MAX_ACTIVE_ERASURES: 5,
      PROPERTY_COLUMNS: [],
      PREVIEW_COUNT_REFRESH_SECONDS: 30,
      PREVIEW_EXACT_MAX_USERS: 10_000,
      PORT: 3000,
      AUTH_FAILURES_PER_MINUTE: 20,
      TRUST_PROXY: false,
      LOG_LEVEL: 'info',
      TEMPORAL_ADDRESS: 'localhost:7233',
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'audience-sync',
    });
  });

  it('reads numbers, booleans and relation names, and treats empty strings as unset', () => {
    expect(
      parseConfig(apiConfigSchema, {
        ...API_MINIMUM,
        DATABASE_URL: 'postgresql://db.internal/app',
        USERS_SOURCE: 'app.active_users',
        SYNC_WAIT_SECONDS: '0',
        PORT: '',
        LOG_LEVEL: '',
        TEMPORAL_TLS: 'yes',
        TEMPORAL_API_KEY: undefined,
      }),
    ).toEqual({
      ...PLATFORM_DEFAULTS,
      MARKETING_API_SECRET: SECRET,
      DATABASE_URL: 'postgresql://db.internal/app',
      USERS_SOURCE: 'app.active_users',
      SYNC_WAIT_SECONDS: 0,
      MAX_CONCURRENT_RUNS: 10,
      MAX_CONCURRENT_DRY_RUNS: 5,
      MAX_SCHEDULES: 100,
      MAX_ACTIVE_ERASURES: 5,
      PROPERTY_COLUMNS: [],
      PREVIEW_COUNT_REFRESH_SECONDS: 30,
      PREVIEW_EXACT_MAX_USERS: 10_000,
      PORT: 3000,
      AUTH_FAILURES_PER_MINUTE: 20,
      TRUST_PROXY: false,
      LOG_LEVEL: 'info',
      TEMPORAL_ADDRESS: 'localhost:7233',
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'audience-sync',
      TEMPORAL_TLS: true,
    });
  });

  it.each([
    ['true', true],
    ['1', true],
    ['yes', true],
    ['false', false],
    ['0', false],
    ['no', false],
  ])('reads TEMPORAL_TLS=%s as %s', (value, expected) => {
    expect(parseConfig(apiConfigSchema, { ...API_MINIMUM, TEMPORAL_TLS: value }).TEMPORAL_TLS).toBe(
      expected,
    );
  });

  it('accepts the bounds of every number and refuses one past them', () => {
    const bounds = {
      SYNC_WAIT_SECONDS: ['0', '600', '-1', '601'],
      PORT: ['0', '65535', '-1', '65536'],
    };
    for (const [name, [low, high, belowLow, aboveHigh]] of Object.entries(bounds)) {
      expect(parseConfig(apiConfigSchema, { ...API_MINIMUM, [name]: low })).toMatchObject({
        [name]: Number(low),
      });
      expect(parseConfig(apiConfigSchema, { ...API_MINIMUM, [name]: high })).toMatchObject({
        [name]: Number(high),
      });
      for (const refused of [belowLow, aboveHigh, '2.5', 'ten']) {
        expect(
          problemsOf(() => parseConfig(apiConfigSchema, { ...API_MINIMUM, [name]: refused })),
        ).toEqual([
          `${name} must be a whole number from ${name === 'PORT' ? '0 to 65535' : '0 to 600'}`,
        ]);
      }
    }
  });

  it('reads PROPERTY_COLUMNS as a comma-separated list of columns, empty by default', () => {
    const columns = (value: string) =>
      parseConfig(apiConfigSchema, { ...API_MINIMUM, PROPERTY_COLUMNS: value }).PROPERTY_COLUMNS;
    expect(columns(' plan , seat_count,,plan')).toEqual(['plan', 'seat_count']);
    expect(columns(',')).toEqual([]);
    expect(
      problemsOf(() =>
        parseConfig(apiConfigSchema, {
          ...API_MINIMUM,
          PROPERTY_COLUMNS: `plan,${'x'.repeat(64)}`,
        }),
      ),
    ).toEqual([
      `PROPERTY_COLUMNS must be column names (at most 63 characters each), comma-separated; not "${'x'.repeat(64)}"`,
    ]);
  });

  it('reads AUTH_FAILURES_PER_MINUTE from 1 up and refuses 0', () => {
    expect(
      parseConfig(apiConfigSchema, { ...API_MINIMUM, AUTH_FAILURES_PER_MINUTE: '1' }),
    ).toMatchObject({ AUTH_FAILURES_PER_MINUTE: 1 });
    expect(
      problemsOf(() =>
        parseConfig(apiConfigSchema, { ...API_MINIMUM, AUTH_FAILURES_PER_MINUTE: '0' }),
      ),
    ).toEqual(['AUTH_FAILURES_PER_MINUTE must be a whole number from 1 to 1000000']);
  });

  it.each([
    ['false', false],
    ['0', false],
    ['1', 1],
    ['10', 10],
    ['loopback', ['loopback']],
    ['10.0.0.0/8, 192.0.2.7,fd00::/8', ['10.0.0.0/8', '192.0.2.7', 'fd00::/8']],
  ])('reads TRUST_PROXY=%s as %j', (value, expected) => {
    expect(
      parseConfig(apiConfigSchema, { ...API_MINIMUM, TRUST_PROXY: value }).TRUST_PROXY,
    ).toEqual(expected);
  });

  it('refuses TRUST_PROXY=true, which would let any client choose its address', () => {
    expect(
      problemsOf(() => parseConfig(apiConfigSchema, { ...API_MINIMUM, TRUST_PROXY: 'true' })),
    ).toEqual([
      'TRUST_PROXY must not be true (any client could then choose its address): give the number of proxies in front of the API (1..10) or their addresses',
    ]);
  });

  it.each(['11', 'proxy.internal', '10.0.0.0/33', '10.0.0.1/8/8', 'loopback,'])(
    'refuses TRUST_PROXY=%s',
    (value) => {
      expect(
        problemsOf(() => parseConfig(apiConfigSchema, { ...API_MINIMUM, TRUST_PROXY: value })),
      ).toEqual([
        'TRUST_PROXY must be false, a number of proxies (1..10), or a comma-separated list of addresses, subnets (10.0.0.0/8) or loopback, linklocal, uniquelocal',
      ]);
    },
  );

  it('names the required values and the missing platform when nothing is set', () => {
    expect(problemsOf(() => parseConfig(apiConfigSchema, {}))).toEqual([
      'MARKETING_API_SECRET is required',
      'DATABASE_URL is required',
      'environment needs at least one platform: set RESEND_API_KEY (Resend) or LOOPS_API_KEY (Loops)',
    ]);
  });

  it('refuses a secret one character short of 32', () => {
    expect(
      problemsOf(() =>
        parseConfig(apiConfigSchema, { ...API_MINIMUM, MARKETING_API_SECRET: SECRET.slice(1) }),
      ),
    ).toEqual(['MARKETING_API_SECRET must be at least 32 characters long']);
  });

  it.each(['users; drop table users', 'public.users.extra', '1users', 'app-users'])(
    'refuses USERS_SOURCE=%s, which is not a plain relation name',
    (value) => {
      expect(
        problemsOf(() => parseConfig(apiConfigSchema, { ...API_MINIMUM, USERS_SOURCE: value })),
      ).toEqual([
        'USERS_SOURCE must be a table or view name, optionally schema-qualified (letters, digits, underscores)',
      ]);
    },
  );

  it('names every problem in one message, one line each, in field order', () => {
    let caught: unknown;
    try {
      parseConfig(apiConfigSchema, {
        PORT: 'x',
        LOG_LEVEL: 'loud',
        SYNC_WAIT_SECONDS: '601',
        USERS_SOURCE: 'users; drop',
        TEMPORAL_TLS: 'maybe',
        TEMPORAL_TLS_CLIENT_CERT_PATH: '/etc/tls/client.pem',
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const error = caught as ConfigError;
    expect(error.name).toBe('ConfigError');
    expect(error.problems).toEqual([
      'MARKETING_API_SECRET is required',
      'DATABASE_URL is required',
      'USERS_SOURCE must be a table or view name, optionally schema-qualified (letters, digits, underscores)',
      'SYNC_WAIT_SECONDS must be a whole number from 0 to 600',
      'PORT must be a whole number from 0 to 65535',
      'LOG_LEVEL Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent"',
      'TEMPORAL_TLS Invalid option: expected one of "0"|"1"|"true"|"false"|"yes"|"no"',
      'TEMPORAL_TLS_CLIENT_KEY_PATH must be set together with TEMPORAL_TLS_CLIENT_CERT_PATH (mTLS needs both), or neither',
      'environment needs at least one platform: set RESEND_API_KEY (Resend) or LOOPS_API_KEY (Loops)',
    ]);
    expect(error.message).toBe(
      ['Invalid configuration:', ...error.problems.map((problem) => `  - ${problem}`)].join('\n'),
    );
  });

  it('starts a Loops-only deployment without a Resend key', () => {
    expect(parseConfig(apiConfigSchema, API_MINIMUM)).not.toHaveProperty('RESEND_API_KEY');
  });

  it('needs at least one platform, and none in particular', () => {
    const { LOOPS_API_KEY: _, ...withoutPlatform } = API_MINIMUM;
    expect(problemsOf(() => parseConfig(apiConfigSchema, withoutPlatform))).toEqual([
      'environment needs at least one platform: set RESEND_API_KEY (Resend) or LOOPS_API_KEY (Loops)',
    ]);
    expect(
      parseConfig(apiConfigSchema, { ...withoutPlatform, RESEND_API_KEY: 're_abc123' }),
    ).toMatchObject({ RESEND_API_KEY: 're_abc123' });
  });
});

describe('the worker configuration', () => {
  it('fills every default from the two required values', () => {
    expect(parseConfig(workerConfigSchema, WORKER_MINIMUM)).toEqual({
      LOOPS_BASE_URL: 'https://app.loops.so/api/',
      LOOPS_RATE_LIMIT: 10,
      DATABASE_URL: 'postgres://db.internal/app',
      USERS_SOURCE: 'users',
      RESEND_API_KEY: 're_abc123',
      RESEND_BASE_URL: 'https://api.resend.com',
      SYNC_BATCH_SIZE: 100,
      SYNC_BATCHES_IN_FLIGHT: 2,
      MAX_CONCURRENT_RUNS: 10,
      MAX_CONCURRENT_DRY_RUNS: 5,
      PROPERTY_COLUMNS: [],
      RUN_RETENTION_DAYS: 30,
      ERASE_DELETED_USERS: false,
      RESEND_BULK: 'auto',
      LOG_LEVEL: 'info',
      TEMPORAL_ADDRESS: 'localhost:7233',
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'audience-sync',
    });
  });

  it('does not ask the worker for the marketing secret', () => {
    expect(parseConfig(workerConfigSchema, WORKER_MINIMUM)).not.toHaveProperty(
      'MARKETING_API_SECRET',
    );
  });

  it('accepts the upper bounds of the rate limit and the batch size', () => {
    expect(
      parseConfig(workerConfigSchema, {
        ...WORKER_MINIMUM,
        RESEND_BASE_URL: 'http://127.0.0.1:8787',
        RESEND_RATE_LIMIT: '10000',
        SYNC_BATCH_SIZE: '1000',
      }),
    ).toMatchObject({
      RESEND_BASE_URL: 'http://127.0.0.1:8787',
      RESEND_RATE_LIMIT: 10_000,
      SYNC_BATCH_SIZE: 1000,
    });
  });

  it('names every invalid value in one message', () => {
    expect(
      problemsOf(() =>
        parseConfig(workerConfigSchema, {
          DATABASE_URL: 'mysql://db.internal/app',
          RESEND_API_KEY: 'sk_live_123',
          RESEND_BASE_URL: 'ftp://api.resend.com',
          RESEND_RATE_LIMIT: '0',
          SYNC_BATCH_SIZE: '1001',
          SYNC_BATCHES_IN_FLIGHT: '3',
          RESEND_BULK: 'on',
        }),
      ),
    ).toEqual([
      'DATABASE_URL must be a postgres:// or postgresql:// connection URL',
      'SYNC_BATCH_SIZE must be a whole number from 1 to 1000',
      'SYNC_BATCHES_IN_FLIGHT must be a whole number from 1 to 2',
      'RESEND_API_KEY must be a Resend API key (it starts with re_)',
      'RESEND_BASE_URL must be an http:// or https:// URL',
      'RESEND_RATE_LIMIT must be a whole number from 1 to 10000',
      'RESEND_BULK must be auto or off',
    ]);
  });

  it('needs both mTLS paths or neither', () => {
    const cert = '/etc/tls/client.pem';
    const key = '/etc/tls/client.key';
    const problem =
      'TEMPORAL_TLS_CLIENT_KEY_PATH must be set together with TEMPORAL_TLS_CLIENT_CERT_PATH (mTLS needs both), or neither';
    expect(
      problemsOf(() =>
        parseConfig(workerConfigSchema, { ...WORKER_MINIMUM, TEMPORAL_TLS_CLIENT_KEY_PATH: key }),
      ),
    ).toEqual([problem]);
    expect(
      problemsOf(() =>
        parseConfig(workerConfigSchema, { ...WORKER_MINIMUM, TEMPORAL_TLS_CLIENT_CERT_PATH: cert }),
      ),
    ).toEqual([problem]);
    expect(
      parseConfig(workerConfigSchema, {
        ...WORKER_MINIMUM,
        TEMPORAL_TLS_CLIENT_CERT_PATH: cert,
        TEMPORAL_TLS_CLIENT_KEY_PATH: key,
      }),
    ).toMatchObject({ TEMPORAL_TLS_CLIENT_CERT_PATH: cert, TEMPORAL_TLS_CLIENT_KEY_PATH: key });
  });
});
