import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import GithubSlugger from 'github-slugger';
import { lexer, type Token, type Tokens, walkTokens } from 'marked';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The README and every page of docs/, as paths relative to the project. */
export const documentationFiles = (): string[] => [
  'README.md',
  ...readdirSync(path.join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

export const readDocument = (file: string): Token[] =>
  lexer(readFileSync(path.join(root, file), 'utf8'));

/** Every link and image target of a document, code blocks and code spans aside. */
export function linkTargets(tokens: Token[]): string[] {
  const targets: string[] = [];
  // The callbacks are synchronous: walkTokens returns what they return, nothing to await.
  void walkTokens(tokens, (token) => {
    if (token.type === 'link' || token.type === 'image') {
      targets.push((token as Tokens.Link | Tokens.Image).href);
    }
  });
  return targets;
}

/** The anchors GitHub gives a document's headings (`#some-heading`, `-1` for repeats). */
export function headingAnchors(tokens: Token[]): Set<string> {
  const slugger = new GithubSlugger();
  const anchors = new Set<string>();
  // The callbacks are synchronous: walkTokens returns what they return, nothing to await.
  void walkTokens(tokens, (token) => {
    if (token.type === 'heading') anchors.add(slugger.slug((token as Tokens.Heading).text));
  });
  return anchors;
}

/** The rows of the first table after a heading, as arrays of cell texts. */
export function tableAfterHeading(tokens: Token[], heading: string): string[][] {
  const start = tokens.findIndex(
    (token) => token.type === 'heading' && (token as Tokens.Heading).text === heading,
  );
  if (start < 0) throw new Error(`no heading "${heading}"`);
  const table = tokens
    .slice(start + 1)
    .find((token) => token.type === 'table' || token.type === 'heading');
  if (table?.type !== 'table') throw new Error(`no table under "${heading}"`);
  return (table as Tokens.Table).rows.map((row) => row.map((cell) => cell.text));
}
