import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * No function is longer than 80 lines, counted from its first line to its last: a closure
 * factory counts with the closures it holds, so growing a factory does not hide a long function.
 * Every folder of product code that runs a sync: the API, the database, activities, workflows.
 */
const MAX_LINES = 80;
const CHECKED_FOLDERS = ['api', 'db', 'activities', 'workflows'];

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

type FunctionNode = ts.FunctionLikeDeclaration & { body: ts.Node };

const hasBody = (node: ts.Node): node is FunctionNode =>
  ts.isFunctionLike(node) && 'body' in node && node.body !== undefined;

/** A function's name as a reader finds it: its own, or the variable or property it is bound to. */
function nameOf(node: FunctionNode): string {
  if (node.name) return node.name.getText();
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) {
    return parent.name.getText();
  }
  return '<anonymous>';
}

/** `file:line name (N lines)` for each function of `source` longer than MAX_LINES. */
function longFunctions(file: string, source: string): string[] {
  const sourceFile = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const lineOf = (position: number) => sourceFile.getLineAndCharacterOfPosition(position).line;
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (hasBody(node)) {
      const first = lineOf(node.getStart(sourceFile));
      const lines = lineOf(node.getEnd()) - first + 1;
      if (lines > MAX_LINES) found.push(`${file}:${first + 1} ${nameOf(node)} (${lines} lines)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

function sourceFiles(folder: string): string[] {
  return readdirSync(path.join(root, folder), { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.tsx?$/.test(file) && !file.endsWith('.d.ts'))
    .map((file) => path.join(folder, file))
    .sort();
}

/** A function of `lines` lines, counting its first and last. */
const functionOf = (lines: number) =>
  `export function tall() {\n${'  work();\n'.repeat(lines - 2)}}\n`;

describe('function length', () => {
  it.each(CHECKED_FOLDERS)(
    'no function in %s/ is longer than 80 lines',
    (folder) => {
      const files = sourceFiles(folder);
      expect(files.length).toBeGreaterThan(0);
      expect(
        files.flatMap((file) => longFunctions(file, readFileSync(path.join(root, file), 'utf8'))),
      ).toEqual([]);
      // Parsing a folder takes a second or two; more on a busy machine.
    },
    30_000,
  );

  it('finds a function of 81 lines, and a factory that grew past 80 with its closures', () => {
    expect(longFunctions('probe.ts', functionOf(80))).toEqual([]);
    expect(longFunctions('probe.ts', functionOf(81))).toEqual(['probe.ts:1 tall (81 lines)']);
    const factory = `export const createThing = () => {\n${'  const step = () => work();\n'.repeat(79)}  return { step };\n};\n`;
    expect(longFunctions('probe.ts', factory)).toEqual(['probe.ts:1 createThing (82 lines)']);
  });

  it('names methods and functions bound to properties', () => {
    const body = '    work();\n'.repeat(80);
    const source = `class Thing {\n  run() {\n${body}  }\n}\nconst parts = {\n  step: () => {\n${body}  },\n};\n`;
    expect(longFunctions('probe.ts', source)).toEqual([
      'probe.ts:2 run (82 lines)',
      'probe.ts:86 step (82 lines)',
    ]);
  });
});
