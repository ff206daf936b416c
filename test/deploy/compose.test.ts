import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { z } from 'zod';
import { DECLARATIONS } from '../../activities/platforms/registry.js';
import { SEARCH_ATTRIBUTES } from '../../common/search-attributes.js';
import { apiConfigSchema, parseConfig, workerConfigSchema } from '../../config/env.js';
import { WORKER_NODE_FLAGS } from '../../dev/worker-process.js';
import { syncWorkerOptions } from '../../worker/options.js';

/**
 * docker-compose.yml and the Dockerfile cannot run in CI (no Docker engine there), so their
 * structure is checked here: a typo in a service name, a port or a variable fails the suite.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

type Environment = Record<string, string>;

interface Service {
  image?: string;
  build?: unknown;
  entrypoint?: string[] | string;
  command?: string[] | string;
  environment?: Environment | string[];
  ports?: (string | { published?: string | number; host_ip?: string })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  profiles?: string[];
  restart?: string;
  configs?: (string | { source: string; target?: string })[];
}

interface ComposeFile {
  services: Record<string, Service>;
  configs?: Record<string, { content?: string; file?: string }>;
}

const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), {
  merge: true,
}) as ComposeFile;
const services = Object.entries(compose.services);
const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');

const environmentOf = (service: Service): Environment => {
  const { environment } = service;
  if (!environment) return {};
  if (!Array.isArray(environment)) return environment;
  return Object.fromEntries(
    environment.map((entry) => {
      const [name = '', ...value] = entry.split('=');
      return [name, value.join('=')];
    }),
  );
};

const commandOf = (service: Service): string[] =>
  Array.isArray(service.command) ? service.command : (service.command?.split(/\s+/) ?? []);

/** What a one-shot service runs: its command, with Compose's `$$` escape undone. */
const scriptOf = (service: Service): string => commandOf(service).join('\n').replaceAll('$$', '$');

/** `1.32.0` → [1, 32, 0], from an image's tag. */
const versionOf = (image: string | undefined): number[] =>
  (/:(\d+)\.(\d+)\.(\d+)$/.exec(image ?? '')?.slice(1) ?? []).map(Number);

const atLeast = (version: number[], minimum: number[]): boolean => {
  for (const [index, part] of minimum.entries()) {
    const actual = version[index] ?? -1;
    if (actual !== part) return actual > part;
  }
  return true;
};

const hasHealthcheck = (service: Service): boolean =>
  Boolean(service.healthcheck?.test) && service.healthcheck?.disable !== true;

/** Compose's interpolation of `${VAR}`, `${VAR:-default}` and `${VAR:?error}`. */
function interpolate(value: string, userEnv: Environment): string {
  return value.replace(
    /\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g,
    (_match, name: string, kind, rest: string) => {
      const set = userEnv[name];
      if (set !== undefined && set !== '') return set;
      if (kind === '?') throw new Error(`${name}: ${rest}`);
      return kind === '-' ? rest : '';
    },
  );
}

/** The variables a schema cannot do without (no default, not optional). */
const requiredFields = (schema: z.ZodObject): string[] =>
  Object.entries(schema.shape)
    .filter(([, field]) => !(field as z.ZodType).safeParse(undefined).success)
    .map(([name]) => name);

const USER_ENV: Environment = {
  MARKETING_API_SECRET: 'x'.repeat(40),
  RESEND_API_KEY: 're_compose_test_key',
};

describe('docker-compose.yml', () => {
  it('has the services it promises', () => {
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining([
        'postgres',
        'temporal-schema',
        'temporal',
        'temporal-namespace',
        'temporal-ui',
        'api',
        'worker',
        'worker-current-version',
      ]),
    );
  });

  it('gives every service an image or a build, and pins every image it pulls', () => {
    for (const [name, service] of services) {
      expect(service.image ?? service.build, `${name} has neither image nor build`).toBeDefined();
      if (!service.image) continue;
      const tag = /:([^/:]+)$/.exec(service.image)?.[1];
      expect(tag, `${name}: ${service.image} has no tag`).toBeDefined();
      expect(tag, `${name}: ${service.image} is not pinned`).not.toBe('latest');
      if (!service.build) {
        // A pulled image names a version, not a moving major alone.
        expect(tag, `${name}: ${service.image}`).toMatch(/\d+\.\d+/);
      }
    }
  });

  it('sets every variable the API and the worker require, with values their config accepts', () => {
    const api = compose.services.api;
    const worker = compose.services.worker;
    expect(api && worker).toBeTruthy();
    if (!api || !worker) return;
    for (const [service, schema] of [
      [api, apiConfigSchema],
      [worker, workerConfigSchema],
    ] as const) {
      const environment = environmentOf(service);
      expect(Object.keys(environment)).toEqual(expect.arrayContaining(requiredFields(schema)));
      // Containers reach Temporal by service name, never localhost (the schema's default).
      expect(Object.keys(environment)).toContain('TEMPORAL_ADDRESS');
      const resolved = Object.fromEntries(
        Object.entries(environment).map(([key, value]) => [key, interpolate(value, USER_ENV)]),
      );
      expect(() => parseConfig(schema, resolved)).not.toThrow();
    }
  });

  it('passes every variable the API and the worker read through to them', () => {
    // The compose file runs its own Temporal server, without TLS, and the image has the bundle.
    const notForCompose = new Set([
      'TEMPORAL_API_KEY',
      'TEMPORAL_TLS',
      'TEMPORAL_TLS_CLIENT_CERT_PATH',
      'TEMPORAL_TLS_CLIENT_KEY_PATH',
      'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
      'TEMPORAL_TLS_SERVER_NAME',
      'WORKFLOW_BUNDLE_PATH',
    ]);
    for (const [name, schema] of [
      ['api', apiConfigSchema],
      ['worker', workerConfigSchema],
    ] as const) {
      const environment = environmentOf(compose.services[name] ?? {});
      const missing = Object.keys(schema.shape).filter(
        (variable) => !notForCompose.has(variable) && !(variable in environment),
      );
      expect({ service: name, missing }).toEqual({ service: name, missing: [] });
    }
    // Unset by default, so a deployment without webhooks still starts.
    const secret = environmentOf(compose.services.api ?? {}).RESEND_WEBHOOK_SECRET ?? '';
    expect(interpolate(secret, {})).toBe('');
    expect(interpolate(secret, { RESEND_WEBHOOK_SECRET: 'whsec_c2VjcmV0' })).toBe('whsec_c2VjcmV0');
  });

  it('asks the user for the marketing secret with a clear message instead of shipping a default', () => {
    const value = environmentOf(compose.services.api ?? {}).MARKETING_API_SECRET;
    expect(value).toMatch(/^\$\{MARKETING_API_SECRET:\?.{10,}\}$/);
    expect(() => interpolate(value ?? '', {})).toThrow('MARKETING_API_SECRET');
  });

  it('points the apps at hosts that are services of this file', () => {
    for (const name of ['api', 'worker']) {
      const service = compose.services[name];
      if (!service) throw new Error(`${name} is missing`);
      const environment = environmentOf(service);
      const databaseHost = new URL(interpolate(environment.DATABASE_URL ?? '', USER_ENV)).hostname;
      const temporalHost = (environment.TEMPORAL_ADDRESS ?? '').split(':')[0] ?? '';
      expect(
        compose.services[databaseHost],
        `${name}: database host ${databaseHost}`,
      ).toBeDefined();
      expect(
        compose.services[temporalHost],
        `${name}: Temporal host ${temporalHost}`,
      ).toBeDefined();
    }
  });

  it('runs commands of the build that exist in the sources', () => {
    for (const [name, service] of services.filter(([, service]) => service.build)) {
      const script = commandOf(service).find((part) => part.startsWith('dist/'));
      if (!script) continue;
      const source = script.replace(/^dist\//, '').replace(/\.js$/, '.ts');
      expect(existsSync(path.join(root, source)), `${name} runs ${script}`).toBe(true);
    }
    expect(commandOf(compose.services.worker ?? {})).toContain('dist/worker/main.js');
  });

  it('runs the worker with the memory settings the benchmark measured', () => {
    const command = commandOf(compose.services.worker ?? {});
    for (const flag of WORKER_NODE_FLAGS) expect(command).toContain(flag);
    expect(dockerfile).toMatch(/^\s+MALLOC_ARENA_MAX=2\b/m);
  });

  it('has health checks where it promises them', () => {
    for (const name of ['postgres', 'temporal', 'api']) {
      const service = compose.services[name];
      expect(service && hasHealthcheck(service), `${name} has a health check`).toBe(true);
    }
    expect(JSON.stringify(compose.services.postgres?.healthcheck?.test)).toContain('pg_isready');
    expect(JSON.stringify(compose.services.api?.healthcheck?.test)).toContain('/healthz');
  });

  it('waits on conditions, for services that exist and can report them', () => {
    const conditions = ['service_started', 'service_healthy', 'service_completed_successfully'];
    for (const [name, service] of services) {
      if (!service.depends_on) continue;
      expect(Array.isArray(service.depends_on), `${name}: depends_on needs conditions`).toBe(false);
      for (const [target, { condition } = {}] of Object.entries(service.depends_on)) {
        const dependency = compose.services[target];
        expect(dependency, `${name} depends on unknown service ${target}`).toBeDefined();
        expect(conditions, `${name} -> ${target}`).toContain(condition);
        if (condition === 'service_healthy' && dependency) {
          expect(hasHealthcheck(dependency), `${target} has no health check`).toBe(true);
        }
      }
    }
    expect(compose.services.temporal?.depends_on).toMatchObject({
      postgres: { condition: 'service_healthy' },
    });
  });

  it('publishes each host port once', () => {
    const published = services.flatMap(([name, service]) =>
      (service.ports ?? []).map((port) => {
        if (typeof port !== 'string') return { name, port: String(port.published) };
        const parts = port.split(':');
        // "container" alone publishes nothing fixed; "host:container" or "ip:host:container".
        return { name, port: parts.length >= 2 ? (parts.at(-2) ?? '') : '' };
      }),
    );
    const fixed = published.filter(({ port }) => port !== '').map(({ port }) => port);
    expect(fixed.filter((port, index) => fixed.indexOf(port) !== index)).toEqual([]);
    expect(fixed).toEqual(expect.arrayContaining(['3000', '7233', '8233']));
  });

  it('keeps Temporal and its Web UI on the ports the docs give', () => {
    expect(compose.services.temporal?.environment).toMatchObject({ DB: 'postgres12' });
    expect(compose.services['temporal-ui']?.ports).toContain('127.0.0.1:8233:8080');
  });
});

/** Every declared platform's variables, from the registry: the one list compose must follow. */
const platformVariables = DECLARATIONS.flatMap((platform) => Object.keys(platform.settings));

/** The API's and the worker's configuration, as compose resolves it from the user's variables. */
const resolvedConfigs = (userEnv: Environment) =>
  (['api', 'worker'] as const).map((name) => {
    const environment = environmentOf(compose.services[name] ?? {});
    return Object.fromEntries(
      Object.entries(environment).map(([key, value]) => [key, interpolate(value, userEnv)]),
    );
  });

describe('docker-compose.yml: platforms', () => {
  it("passes every platform's variables through to the API and the worker, webhook secrets included", () => {
    expect(platformVariables).toEqual(
      expect.arrayContaining(['RESEND_API_KEY', 'LOOPS_API_KEY', 'LOOPS_WEBHOOK_SECRET']),
    );
    for (const name of ['api', 'worker']) {
      const environment = environmentOf(compose.services[name] ?? {});
      const missing = platformVariables.filter((variable) => !(variable in environment));
      expect({ service: name, missing }).toEqual({ service: name, missing: [] });
      for (const variable of platformVariables) {
        // What the user sets reaches the service as it is.
        expect(interpolate(environment[variable] ?? '', { [variable]: 'set-by-you' })).toBe(
          'set-by-you',
        );
      }
    }
  });

  it('requires no platform credential of its own (no `:?`): none in particular is needed', () => {
    for (const name of ['api', 'worker']) {
      const environment = environmentOf(compose.services[name] ?? {});
      const required = platformVariables.filter((variable) =>
        (environment[variable] ?? '').includes(':?'),
      );
      expect({ service: name, required }).toEqual({ service: name, required: [] });
    }
  });

  it('starts a Loops-only deployment: the API and the worker accept only LOOPS_API_KEY', () => {
    const loopsOnly = { MARKETING_API_SECRET: 'x'.repeat(40), LOOPS_API_KEY: 'loops_compose_key' };
    const [api, worker] = resolvedConfigs(loopsOnly);
    expect(api?.RESEND_API_KEY).toBe('');
    expect(parseConfig(apiConfigSchema, api ?? {})).toMatchObject({
      LOOPS_API_KEY: 'loops_compose_key',
      LOOPS_BASE_URL: 'https://app.loops.so/api/',
    });
    expect(parseConfig(workerConfigSchema, worker ?? {})).toMatchObject({
      LOOPS_API_KEY: 'loops_compose_key',
    });
  });

  it('leaves refusing a deployment without any platform to the service, with its clear message', () => {
    const [api, worker] = resolvedConfigs({ MARKETING_API_SECRET: 'x'.repeat(40) });
    expect(() => parseConfig(apiConfigSchema, api ?? {})).toThrow(/needs at least one platform/);
    expect(() => parseConfig(workerConfigSchema, worker ?? {})).toThrow(
      /needs at least one platform/,
    );
  });

  it("runs every declared platform's emulator in the sandbox profile, on its declared port", () => {
    for (const platform of DECLARATIONS) {
      if (!platform.emulator) continue;
      const service = compose.services[`${platform.name}-emulator`];
      expect(service, `${platform.name}-emulator`).toBeDefined();
      const { port, rateLimit } = platform.emulator;
      expect(service?.profiles).toEqual(['sandbox']);
      expect(commandOf(service ?? {})).toEqual([
        'node',
        `dist/emulator/${platform.name}/main.js`,
        '--host',
        '0.0.0.0',
        '--port',
        String(port.default),
        '--rate-limit',
        `\${${rateLimit.variable}:-${rateLimit.default}}`,
      ]);
      expect(service?.ports).toEqual([`127.0.0.1:${port.default}:${port.default}`]);
    }
  });
});

describe('docker-compose.yml: Temporal', () => {
  const server = compose.services.temporal ?? {};
  const schema = compose.services['temporal-schema'] ?? {};
  const namespace = compose.services['temporal-namespace'] ?? {};
  const ui = compose.services['temporal-ui'] ?? {};
  const oneShots = ['temporal-schema', 'temporal-namespace', 'worker-current-version'];

  it('runs the server image, not the deprecated auto-setup one, at a version with Worker Versioning', () => {
    for (const [name, service] of services) {
      expect(service.image ?? '', `${name} uses auto-setup`).not.toMatch(/auto-setup/);
    }
    expect(server.image).toMatch(/^temporalio\/server:\d+\.\d+\.\d+$/);
    // Activity pause and Worker Versioning need 1.28; a pinned run moving to the current version
    // when it continues as new (initialVersioningBehavior) needs 1.30.
    expect(atLeast(versionOf(server.image), [1, 30, 0]), `${server.image}`).toBe(true);
  });

  it('prepares the schemas with the admin tools of the same version, before the server starts', () => {
    const adminTools = `temporalio/admin-tools:${versionOf(server.image).join('.')}`;
    for (const name of ['temporal-schema', 'temporal-namespace', 'worker-current-version']) {
      expect(compose.services[name]?.image, name).toBe(adminTools);
    }
    expect(schema.depends_on).toMatchObject({ postgres: { condition: 'service_healthy' } });
    expect(server.depends_on).toMatchObject({
      'temporal-schema': { condition: 'service_completed_successfully' },
    });
    const script = scriptOf(schema);
    expect(script).toMatch(/temporal-sql-tool --plugin postgres12 --ep postgres\b/);
    for (const [database, directory] of [
      ['temporal', 'temporal'],
      ['temporal_visibility', 'visibility'],
    ]) {
      // Each database is created, set up and brought to the newest schema the image ships.
      const steps = [
        `--db ${database} create`,
        `--db ${database} setup-schema -v 0.0`,
        `--db ${database} update-schema -d "$schema/${directory}/versioned"`,
      ];
      const positions = steps.map((step) => script.indexOf(step));
      expect(
        positions.every((position) => position >= 0),
        `${database}: ${steps}`,
      ).toBe(true);
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    }
    expect(script).toContain('schema=/etc/temporal/schema/postgresql/v12');
    expect(script).toMatch(/^set -eu$/m);
  });

  it('connects the server and the schema job to the Postgres of this file', () => {
    const postgres = environmentOf(compose.services.postgres ?? {});
    const environment = environmentOf(server);
    expect(environment).toMatchObject({
      DB: 'postgres12',
      DB_PORT: '5432',
      POSTGRES_SEEDS: 'postgres',
      POSTGRES_USER: postgres.POSTGRES_USER,
      POSTGRES_PWD: postgres.POSTGRES_PASSWORD,
    });
    expect(scriptOf(schema)).toContain(`-u ${postgres.POSTGRES_USER}`);
    expect(environmentOf(schema).SQL_PASSWORD).toBe(postgres.POSTGRES_PASSWORD);
  });

  it('gives the server a dynamic config file it mounts', () => {
    const file = environmentOf(server).DYNAMIC_CONFIG_FILE_PATH;
    expect(file).toMatch(/^\/etc\/temporal\/config\/dynamicconfig\/.+\.yaml$/);
    const mounted = (server.configs ?? []).find(
      (config) => typeof config !== 'string' && config.target === file,
    );
    expect(mounted, `a config mounted at ${file}`).toBeDefined();
    const source = typeof mounted === 'string' ? mounted : mounted?.source;
    const content = compose.configs?.[source ?? '']?.content ?? '';
    expect(parse(content)).toMatchObject({ 'limit.maxIDLength': [{ value: 255 }] });
  });

  it('creates the namespace the apps use and registers every search attribute of the runs', () => {
    expect(namespace.depends_on).toMatchObject({ temporal: { condition: 'service_healthy' } });
    const script = scriptOf(namespace);
    const appNamespace = environmentOf(compose.services.worker ?? {}).TEMPORAL_NAMESPACE;
    expect(environmentOf(namespace)).toMatchObject({
      TEMPORAL_ADDRESS: 'temporal:7233',
      TEMPORAL_NAMESPACE: appNamespace,
    });
    expect(script).toContain('temporal operator cluster health');
    expect(script).toContain(`temporal operator namespace create --namespace ${appNamespace}`);
    expect(SEARCH_ATTRIBUTES.map((key) => key.name)).toEqual([
      'SyncType',
      'SyncPlatform',
      'SyncListId',
      'SyncTrigger',
    ]);
    for (const key of SEARCH_ATTRIBUTES) {
      const type = key.type.charAt(0) + key.type.slice(1).toLowerCase();
      expect(script).toContain(
        `temporal operator search-attribute create --namespace ${appNamespace} --name ${key.name} --type ${type}`,
      );
    }
  });

  it('starts the API, the worker and the UI once the namespace is ready', () => {
    for (const name of ['api', 'worker', 'temporal-ui']) {
      expect(compose.services[name]?.depends_on, name).toMatchObject({
        'temporal-namespace': { condition: 'service_completed_successfully' },
      });
    }
  });

  it('runs its one-shot jobs once: no restart policy brings them back', () => {
    for (const name of oneShots) {
      const service = compose.services[name] ?? {};
      expect(['no', undefined], name).toContain(service.restart);
      expect(service.entrypoint, name).toEqual(['/bin/sh', '-c']);
      expect(scriptOf(service), name).toMatch(/^set -eu$/m);
    }
  });

  it('runs a Web UI that can pause activities (2.47 or later)', () => {
    expect(ui.image).toMatch(/^temporalio\/ui:\d+\.\d+\.\d+$/);
    expect(atLeast(versionOf(ui.image), [2, 47, 0]), `${ui.image}`).toBe(true);
    expect(environmentOf(ui).TEMPORAL_ADDRESS).toBe('temporal:7233');
  });
});

describe('docker-compose.yml: Worker Versioning', () => {
  const worker = compose.services.worker ?? {};
  const currentVersion = compose.services['worker-current-version'] ?? {};
  const workerConfig = (userEnv: Environment) =>
    parseConfig(
      workerConfigSchema,
      Object.fromEntries(
        Object.entries(environmentOf(worker)).map(([key, value]) => [
          key,
          interpolate(value, userEnv),
        ]),
      ),
    );

  it('runs the worker as a Deployment Version, with defaults the user can override', () => {
    const environment = environmentOf(worker);
    expect(environment.TEMPORAL_DEPLOYMENT_NAME).toMatch(/^\$\{TEMPORAL_DEPLOYMENT_NAME:-.+\}$/);
    expect(environment.TEMPORAL_WORKER_BUILD_ID).toMatch(/^\$\{TEMPORAL_WORKER_BUILD_ID:-.+\}$/);
    expect(syncWorkerOptions(workerConfig(USER_ENV)).workerDeploymentOptions).toMatchObject({
      version: { deploymentName: 'audience-sync' },
      useWorkerVersioning: true,
      defaultVersioningBehavior: 'PINNED',
    });
    const next = workerConfig({ ...USER_ENV, TEMPORAL_WORKER_BUILD_ID: 'v2' });
    expect(syncWorkerOptions(next).workerDeploymentOptions?.version).toEqual({
      deploymentName: 'audience-sync',
      buildId: 'v2',
    });
  });

  it("makes the worker's version current once the worker runs", () => {
    expect(currentVersion.depends_on).toMatchObject({ worker: { condition: 'service_started' } });
    const environment = environmentOf(currentVersion);
    const workerEnvironment = environmentOf(worker);
    for (const name of [
      'TEMPORAL_DEPLOYMENT_NAME',
      'TEMPORAL_WORKER_BUILD_ID',
      'TEMPORAL_NAMESPACE',
    ]) {
      expect(environment[name], name).toBe(workerEnvironment[name]);
    }
    expect(environment.TEMPORAL_ADDRESS).toBe(workerEnvironment.TEMPORAL_ADDRESS);
    const script = scriptOf(currentVersion).replace(/\\\n\s*/g, '');
    expect(script).toContain(
      'temporal worker deployment set-current-version --yes ' +
        '--deployment-name "$TEMPORAL_DEPLOYMENT_NAME" --build-id "$TEMPORAL_WORKER_BUILD_ID"',
    );
  });
});

describe('Dockerfile', () => {
  const stages = [...dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)];
  const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

  it('builds in named stages from a pinned Node 20 slim image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    expect(stages.every((stage) => stage[2])).toBe(true);
    const base = /^ARG NODE_IMAGE=(\S+)/m.exec(dockerfile)?.[1] ?? '';
    expect(base).toMatch(/^node:20\.\d+\.\d+-[a-z]+-slim$/);
  });

  it('installs from the lockfile and runs the build, workflow bundle included', () => {
    expect(dockerfile).toMatch(/npm ci\b/);
    expect(dockerfile).toMatch(/npm run build/);
    expect(dockerfile).toContain('dist/workflow-bundle.js');
  });

  it("builds the console's pages into dist/console, which the image ships with the API", () => {
    expect(dockerfile).toContain('test -f dist/console/index.html');
    expect(finalStage).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
  });

  it('ships production dependencies only and runs as a non-root user', () => {
    expect(finalStage).toMatch(/npm ci --omit=dev/);
    const user = /^USER\s+(\S+)/m.exec(finalStage)?.[1];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
  });

  it('starts the API by default, with a health check', () => {
    expect(finalStage).toMatch(/^HEALTHCHECK\b[\s\S]*\/healthz/m);
    expect(finalStage).toMatch(/^CMD \["node", "dist\/api\/main\.js"\]/m);
  });

  it('keeps local data, secrets and installs out of the build context', () => {
    const ignored = readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.env', '.data', 'dist']));
  });
});
