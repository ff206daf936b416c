import { readFileSync } from 'node:fs';

/**
 * Which documented answers a fuzz run produced: every request of schemathesis's HAR report is
 * matched to its operation in the document, and each operation's documented statuses are split
 * into those seen and those never seen.
 */

interface HarEntry {
  request: { method: string; url: string };
  response: { status: number };
}

export interface DocumentPaths {
  paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
}

export interface StatusCoverage {
  /** `METHOD /path/{param}` */
  operation: string;
  seen: number[];
  /** Documented, never answered in this run. */
  unseen: number[];
  /** Answered, not documented (status_code_conformance fails on these too). */
  undocumented: number[];
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A matcher for a path template: `{name}` is one path segment. */
const templateMatcher = (template: string): RegExp =>
  new RegExp(
    `^${template
      .split(/\{[^}]+\}/)
      .map(escapeRegExp)
      .join('[^/]+')}$`,
  );

export function statusCoverage(harFile: string, document: DocumentPaths): StatusCoverage[] {
  const har = JSON.parse(readFileSync(harFile, 'utf8')) as { log: { entries: HarEntry[] } };
  // Templates without parameters first, so /schedules/{id} does not take /schedules.
  const operations = Object.entries(document.paths)
    .flatMap(([template, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({
        name: `${method.toUpperCase()} ${template}`,
        method: method.toUpperCase(),
        matcher: templateMatcher(template),
        parameters: (template.match(/\{/g) ?? []).length,
        documented: Object.keys(operation.responses ?? {}).map(Number),
        seen: new Set<number>(),
      })),
    )
    .sort((a, b) => a.parameters - b.parameters);
  for (const entry of har.log.entries) {
    const path = new URL(entry.request.url).pathname;
    const operation = operations.find(
      (candidate) => candidate.method === entry.request.method && candidate.matcher.test(path),
    );
    operation?.seen.add(entry.response.status);
  }
  return operations
    .map((operation) => ({
      operation: operation.name,
      seen: [...operation.seen].sort((a, b) => a - b),
      unseen: operation.documented.filter((status) => !operation.seen.has(status)),
      undocumented: [...operation.seen]
        .filter((status) => !operation.documented.includes(status))
        .sort((a, b) => a - b),
    }))
    .sort((a, b) => a.operation.localeCompare(b.operation));
}

export function formatCoverage(coverage: StatusCoverage[]): string {
  const width = Math.max(...coverage.map((row) => row.operation.length));
  return coverage
    .map(
      (row) =>
        `  ${row.operation.padEnd(width)}  seen ${row.seen.join(' ') || '-'}` +
        (row.unseen.length ? `; never ${row.unseen.join(' ')}` : '') +
        (row.undocumented.length ? `; UNDOCUMENTED ${row.undocumented.join(' ')}` : ''),
    )
    .join('\n');
}
