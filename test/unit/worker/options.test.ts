import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, workerConfigSchema } from '../../../config/env.js';
import {
  describeWorkerVersion,
  syncWorkerOptions,
  workerVersioningOptions,
} from '../../../worker/options.js';

const WORKER_MINIMUM = { DATABASE_URL: 'postgres://db.internal/app', RESEND_API_KEY: 're_abc123' };
const VERSIONED = {
  ...WORKER_MINIMUM,
  TEMPORAL_DEPLOYMENT_NAME: 'audience-sync',
  TEMPORAL_WORKER_BUILD_ID: '2026-11-26.3f9c2a1',
};

const workerConfig = (env: Record<string, string>) => parseConfig(workerConfigSchema, env);

/** The problems a refused configuration names. */
function problemsOf(env: Record<string, string>): string[] {
  try {
    workerConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

describe('the worker options built from a configuration', () => {
  it('are unversioned without a deployment name and a build id', () => {
    const options = syncWorkerOptions(workerConfig(WORKER_MINIMUM));
    expect(options).not.toHaveProperty('workerDeploymentOptions');
    expect(options).toMatchObject({ namespace: 'default', taskQueue: 'audience-sync' });
    expect(workerVersioningOptions(workerConfig(WORKER_MINIMUM))).toEqual({});
    expect(describeWorkerVersion(workerConfig(WORKER_MINIMUM))).toBe('unversioned');
  });

  it('carry the deployment version, opted in and pinned, when both are set', () => {
    const options = syncWorkerOptions(workerConfig(VERSIONED));
    expect(options.workerDeploymentOptions).toEqual({
      version: { deploymentName: 'audience-sync', buildId: '2026-11-26.3f9c2a1' },
      useWorkerVersioning: true,
      defaultVersioningBehavior: 'PINNED',
    });
    // Versioning changes nothing else the worker does.
    const { workerDeploymentOptions: _versioning, ...rest } = options;
    expect(rest).toEqual(syncWorkerOptions(workerConfig(WORKER_MINIMUM)));
    expect(describeWorkerVersion(workerConfig(VERSIONED))).toBe('audience-sync:2026-11-26.3f9c2a1');
  });

  it('treat empty values as unset, as the rest of the configuration does', () => {
    const options = syncWorkerOptions(
      workerConfig({
        ...WORKER_MINIMUM,
        TEMPORAL_DEPLOYMENT_NAME: '',
        TEMPORAL_WORKER_BUILD_ID: '',
      }),
    );
    expect(options).not.toHaveProperty('workerDeploymentOptions');
  });
});

describe('the Worker Versioning configuration', () => {
  it('refuses one of the pair without the other, with one message naming both', () => {
    for (const alone of ['TEMPORAL_DEPLOYMENT_NAME', 'TEMPORAL_WORKER_BUILD_ID'] as const) {
      const problems = problemsOf({ ...WORKER_MINIMUM, [alone]: VERSIONED[alone] });
      expect(problems).toEqual([
        'TEMPORAL_WORKER_BUILD_ID must be set together with TEMPORAL_DEPLOYMENT_NAME (Worker Versioning needs both), or neither',
      ]);
    }
  });

  it('refuses names Temporal refuses', () => {
    expect(problemsOf({ ...VERSIONED, TEMPORAL_DEPLOYMENT_NAME: 'audience.sync' })).toEqual([
      "TEMPORAL_DEPLOYMENT_NAME must not contain '.' or ':' nor start with '__'",
    ]);
    expect(problemsOf({ ...VERSIONED, TEMPORAL_DEPLOYMENT_NAME: 'audience:sync' })).toHaveLength(1);
    expect(problemsOf({ ...VERSIONED, TEMPORAL_WORKER_BUILD_ID: '__internal' })).toEqual([
      "TEMPORAL_WORKER_BUILD_ID must not start with '__'",
    ]);
    expect(problemsOf({ ...VERSIONED, TEMPORAL_WORKER_BUILD_ID: 'x'.repeat(101) })).toEqual([
      'TEMPORAL_WORKER_BUILD_ID must be at most 100 characters',
    ]);
  });

  it('reports a lone half even when other values are wrong too', () => {
    const problems = problemsOf({
      ...WORKER_MINIMUM,
      SYNC_BATCH_SIZE: '0',
      TEMPORAL_WORKER_BUILD_ID: 'b1',
    });
    expect(problems.some((problem) => problem.startsWith('SYNC_BATCH_SIZE'))).toBe(true);
    expect(problems.some((problem) => problem.includes('TEMPORAL_DEPLOYMENT_NAME'))).toBe(true);
  });
});
