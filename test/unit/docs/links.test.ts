import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { lexer } from 'marked';
import { describe, expect, it } from 'vitest';
import { documentationFiles, headingAnchors, linkTargets, readDocument, root } from './markdown.js';

/** A target outside the repository: a web address, mail, or another scheme. */
const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target);

/** What a relative link of `file` points at that does not exist: the file, or its anchor. */
function brokenTarget(file: string, target: string): string | undefined {
  const [where = '', anchor] = target.split('#');
  const resolved = where === '' ? file : path.join(path.dirname(file), decodeURI(where));
  const absolute = path.join(root, resolved);
  if (!absolute.startsWith(`${root}${path.sep}`) || !existsSync(absolute)) {
    return `${target} (no ${resolved})`;
  }
  if (anchor === undefined) return undefined;
  if (!resolved.endsWith('.md') || statSync(absolute).isDirectory()) {
    return `${target} (an anchor into something that has no headings)`;
  }
  return headingAnchors(readDocument(resolved)).has(anchor)
    ? undefined
    : `${target} (no heading #${anchor} in ${resolved})`;
}

describe('the README and docs/', () => {
  const files = documentationFiles();

  it('include the pages the README names', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'docs/api.md',
        'docs/architecture.md',
        'docs/consent-and-erasure.md',
        'docs/emulator.md',
        'docs/operating.md',
        'docs/performance.md',
        'docs/running.md',
      ]),
    );
  });

  it.each(files)('%s: every relative link resolves, its anchor included', (file) => {
    const relative = linkTargets(readDocument(file)).filter((target) => !isExternal(target));
    expect(relative.map((target) => brokenTarget(file, target)).filter(Boolean)).toEqual([]);
  });
});

describe('the link check itself', () => {
  it('finds a missing file, a missing anchor and a link out of the repository', () => {
    expect(brokenTarget('README.md', 'docs/running.md#your-own-database')).toBeUndefined();
    expect(brokenTarget('docs/api.md', '#limits')).toBeUndefined();
    expect(brokenTarget('docs/api.md', '../README.md#configuration')).toBeUndefined();
    expect(brokenTarget('README.md', 'docs/nowhere.md')).toMatch(/no docs\/nowhere\.md/);
    expect(brokenTarget('README.md', 'docs/running.md#nowhere')).toMatch(/no heading #nowhere/);
    expect(brokenTarget('docs/api.md', '../../outside.md')).toMatch(/no/);
  });

  it('reads links in text and tables, and not in code', () => {
    const targets = linkTargets(
      lexer(
        '[a](one.md) and `[b](two.md)`\n\n| x |\n| - |\n| [c](three.md) |\n\n```\n[d](four.md)\n```\n',
      ),
    );
    expect(targets).toEqual(['one.md', 'three.md']);
  });
});
