import { describe, expect, it } from 'vitest';
import { apiConfigSchema, workerConfigSchema } from '../../../config/env.js';
import { devOnlySchema } from '../../../dev/settings.js';
import { readDocument, tableAfterHeading } from './markdown.js';

const configFields = [
  ...new Set([...Object.keys(apiConfigSchema.shape), ...Object.keys(workerConfigSchema.shape)]),
].sort();

/** The variables a table's first column names, one per row, in backticks. */
const variablesOf = (rows: string[][]): string[] =>
  rows.map((row) => /^`([A-Z][A-Z0-9_]*)`$/.exec(row[0] ?? '')?.[1] ?? `not a variable: ${row[0]}`);

describe("the README's configuration table", () => {
  const rows = tableAfterHeading(readDocument('README.md'), 'Configuration');

  it('lists every variable the API and the worker read, once each, and nothing else', () => {
    const listed = variablesOf(rows);
    expect(listed.filter((name, index) => listed.indexOf(name) !== index)).toEqual([]);
    expect([...listed].sort()).toEqual(configFields);
  });

  it('gives each a default and the processes that read it', () => {
    const apiFields = new Set(Object.keys(apiConfigSchema.shape));
    const workerFields = new Set(Object.keys(workerConfigSchema.shape));
    const expected = (name: string) =>
      [apiFields.has(name) ? 'api' : '', workerFields.has(name) ? 'worker' : '']
        .filter(Boolean)
        .join(', ');
    const described = rows.map((row) => ({
      name: variablesOf([row])[0],
      defaultGiven: (row[1] ?? '').trim() !== '',
      usedBy: row[2],
      meaning: (row[3] ?? '').trim() !== '',
    }));
    expect(described).toEqual(
      described.map((entry) => ({
        ...entry,
        defaultGiven: true,
        usedBy: expected(entry.name ?? ''),
        meaning: true,
      })),
    );
  });
});

describe("docs/running.md's table of the local stack's variables", () => {
  it('lists exactly the variables only `npm run dev` reads', () => {
    const rows = tableAfterHeading(readDocument('docs/running.md'), 'Variables of the local stack');
    expect(variablesOf(rows).sort()).toEqual(Object.keys(devOnlySchema.shape).sort());
  });
});
