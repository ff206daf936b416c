import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { z } from 'zod';
import { apiConfigSchema, parseConfig, workerConfigSchema } from '../../config/env.js';
import { WORKER_NODE_FLAGS } from '../../dev/worker-process.js';

/**
 * docker-compose.yml and the Dockerfile cannot run in CI (no Docker engine there), so their
 * structure is checked here: a typo in a service name, a port or a variable fails the suite.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

type Environment = Record<string, string>;

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Environment | string[];
  ports?: (string | { published?: string | number; host_ip?: string })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  profiles?: string[];
}

interface ComposeFile {
  services: Record<string, Service>;
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
      expect.arrayContaining(['postgres', 'temporal', 'temporal-ui', 'api', 'worker']),
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

  it('asks the user for the secrets with a clear message instead of shipping defaults', () => {
    const secrets: [string, string][] = [
      ['api', 'MARKETING_API_SECRET'],
      ['worker', 'RESEND_API_KEY'],
    ];
    for (const [name, variable] of secrets) {
      const service = compose.services[name];
      const value = service ? environmentOf(service)[variable] : undefined;
      expect(value, `${name}.${variable}`).toMatch(new RegExp(`^\\$\\{${variable}:\\?.{10,}\\}$`));
      expect(() => interpolate(value ?? '', {})).toThrow(variable);
    }
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
