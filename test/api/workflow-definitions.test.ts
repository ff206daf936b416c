import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRunProgress } from '../../client/sync-runs.js';
import { progressQuery } from '../../workflows/definitions.js';
import { type AppStack, startAppStack, waitForRunEnd } from '../support/app-stack.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** The module specifiers a file loads at run time (`import type` and `export type` load nothing). */
function runtimeImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022);
  const specifiers: string[] = [];
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement) && !statement.importClause?.isTypeOnly) {
      specifiers.push((statement.moduleSpecifier as ts.StringLiteral).text);
    }
    if (
      ts.isExportDeclaration(statement) &&
      !statement.isTypeOnly &&
      statement.moduleSpecifier !== undefined
    ) {
      specifiers.push((statement.moduleSpecifier as ts.StringLiteral).text);
    }
  }
  return specifiers;
}

/** The project's own files a module loads at run time, itself included, relative to the root. */
function projectFilesLoadedBy(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const specifier of runtimeImports(file)) {
      if (!specifier.startsWith('.')) continue;
      visit(path.resolve(path.dirname(file), specifier.replace(/\.js$/, '.ts')));
    }
  };
  visit(path.join(ROOT, entry));
  return [...seen].map((file) => path.relative(ROOT, file)).sort();
}

describe('the workflow definitions the client uses', () => {
  it('are a module that loads only @temporalio/workflow and common/', () => {
    const imports = runtimeImports(path.join(ROOT, 'workflows', 'definitions.ts'));
    expect(imports).toContain('@temporalio/workflow');
    expect(
      imports.filter(
        (specifier) => specifier !== '@temporalio/workflow' && !specifier.startsWith('../common/'),
      ),
    ).toEqual([]);
  });

  it('keep workflow code and activities out of the client', () => {
    const loaded = ['client/sync-runs.ts', 'client/schedules.ts'].flatMap(projectFilesLoadedBy);
    expect(loaded).toContain('workflows/definitions.ts');
    expect(
      loaded.filter(
        (file) =>
          /^(activities|worker)\//.test(file) ||
          (file.startsWith('workflows/') && file !== 'workflows/definitions.ts'),
      ),
    ).toEqual([]);
  });

  it('name the query the workflow answers', () => {
    expect(progressQuery.name).toBe('progress');
  });
});

describe('the progress query', () => {
  let stack: AppStack;

  beforeAll(async () => {
    stack = await startAppStack({ users: 20 });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it("answers the client with the run's phase and counts", async () => {
    const started = await stack.call(
      'POST',
      '/api/marketing/sync-users',
      {},
      { prefer: 'respond-async' },
    );
    expect(started.status).toBe(202);
    const runId: string = started.body.runId;
    const ended = await waitForRunEnd(stack, runId);
    expect(ended.status).toBe('completed');
    const view = await queryRunProgress(stack.client, runId, 30_000);
    expect(view).toMatchObject({ runId, phase: 'finished', progress: ended.progress });
  });
});
