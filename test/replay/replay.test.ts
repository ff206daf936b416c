import { DefaultLogger, type ReplayResult, Runtime, Worker } from '@temporalio/worker';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type FixtureRun,
  loadFixtureRuns,
  REQUIRED_SHAPES,
  SHAPES,
  shapeProblems,
  unlistedHistoryFiles,
} from './fixture-shapes.js';

/**
 * Replays every committed history (test/fixtures/histories, recorded by
 * `npm run histories:record`) against the current workflow code, as a worker does after a
 * restart or a cache eviction. A change to the commands a run issues fails here; see
 * docs/operating.md for how to make such a change safely (patched) or refresh the histories.
 */
const runs: FixtureRun[] = await loadFixtureRuns();
const histories = runs.flatMap((run) =>
  run.histories.map((history, index) => ({
    file: run.executions[index] ?? `${run.shape}.${index + 1}`,
    workflowId: run.workflowId,
    history,
  })),
);

describe('the committed histories', () => {
  it('include every required run shape', () => {
    const present = runs.map((run) => run.shape);
    expect(REQUIRED_SHAPES.filter((shape) => !present.includes(shape))).toEqual([]);
    expect(present.filter((shape) => !(shape in SHAPES))).toEqual([]);
    expect(new Set(present).size).toBe(present.length);
  });

  it('are all named by the manifest', async () => {
    expect(await unlistedHistoryFiles()).toEqual([]);
  });

  it.each(runs.map((run) => [run.shape, run] as const))(
    'show what "%s" stands for',
    (_shape, run) => {
      expect(shapeProblems(run.shape, run.histories)).toEqual([]);
    },
  );
});

describe('replaying them with the current workflow code', () => {
  const results: ReplayResult[] = [];

  beforeAll(async () => {
    Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
    const replay = Worker.runReplayHistories(
      // The bundle the suite's global setup built from workflows/ for this test run.
      { workflowBundle: { codePath: inject('workflowBundlePath') } },
      histories.map(({ workflowId, history }) => ({ workflowId, history })),
    );
    for await (const result of replay) results.push(result);
  });

  it('replays each of them', () => {
    expect(results).toHaveLength(histories.length);
  });

  it.each(histories.map(({ file }, index) => [file, index] as const))(
    '%s replays without nondeterminism',
    (_file, index) => {
      const error = results[index]?.error;
      expect(error, error ? `${error.name}: ${error.message}` : undefined).toBeUndefined();
    },
  );
});
