import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

/** Resend's recordings and spec, read in place (never copied into the project). */
export const referenceDir = resolve(
  process.env.RESEND_REFERENCE_DIR ?? join(repoRoot, '..', 'shared', 'reference'),
);

export const recordingsDir = join(referenceDir, 'resend-recordings');
export const openApiPath = join(referenceDir, 'resend-openapi.yaml');

export const referenceAvailable = existsSync(recordingsDir) && existsSync(openApiPath);

/** Shown in the test name and on stderr when the reference folder is absent, so the skip is visible. */
export const referenceMissingNote = `SKIPPED: no Resend reference folder at ${referenceDir} (set RESEND_REFERENCE_DIR)`;

/** Says, once per test file, which checks are skipped for want of the reference folder. */
export function announceSkipWithoutReference(what: string): void {
  if (!referenceAvailable) console.warn(`${what}: ${referenceMissingNote}`);
}

export interface HarHeader {
  name: string;
  value: string;
}

export interface HarEntry {
  startedDateTime: string;
  request: {
    method: string;
    url: string;
    headers: HarHeader[];
    postData?: { mimeType?: string; text?: string };
  };
  response: { status: number; headers: HarHeader[]; content: { mimeType?: string; text?: string } };
}

export interface Recording {
  file: string;
  entries: HarEntry[];
}

function isRecording(value: unknown): value is { log: { entries: HarEntry[] } } {
  if (!value || typeof value !== 'object' || !('log' in value)) return false;
  const log: unknown = value.log;
  return !!log && typeof log === 'object' && 'entries' in log && Array.isArray(log.entries);
}

/** Every recording, by file name, entries in recorded order. */
export function loadRecordings(): Recording[] {
  return readdirSync(recordingsDir)
    .filter((file) => file.endsWith('.har'))
    .sort()
    .map((file) => {
      const parsed: unknown = JSON.parse(readFileSync(join(recordingsDir, file), 'utf8'));
      if (!isRecording(parsed)) throw new Error(`${file} is not a HAR recording`);
      return { file, entries: parsed.log.entries };
    });
}
