import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEV_SECRET_FILE, keptDevSecret } from '../../../dev/dev-secret.js';
import { readDevSettings } from '../../../dev/settings.js';

describe("the local stack's own marketing secret", () => {
  let scratch: string;
  beforeEach(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'dev-secret-'));
  });
  afterEach(() => rm(scratch, { recursive: true, force: true }));

  it('is made once, kept in the data folder for its owner only, and the same at every start', async () => {
    const dataDir = path.join(scratch, 'not-yet', '.data');
    const first = keptDevSecret(dataDir);
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const file = path.join(dataDir, DEV_SECRET_FILE);
    expect((await readFile(file, 'utf8')).trim()).toBe(first);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(keptDevSecret(dataDir)).toBe(first);
  });

  it('is made again when the kept one is too short for the configuration', async () => {
    await writeFile(path.join(scratch, DEV_SECRET_FILE), 'short\n');
    const made = keptDevSecret(scratch);
    expect(made).toHaveLength(43);
    expect(keptDevSecret(scratch)).toBe(made);
  });

  it('is what the settings use without MARKETING_API_SECRET, and is not read with it', () => {
    const kept = { value: 'k'.repeat(43), file: path.join(scratch, DEV_SECRET_FILE) };
    expect(readDevSettings({}, () => kept)).toMatchObject({
      marketingSecret: kept.value,
      secretGenerated: true,
      secretFile: kept.file,
    });
    const configured = 'c'.repeat(40);
    const settings = readDevSettings({ MARKETING_API_SECRET: configured }, () => {
      throw new Error('read the kept secret although one is configured');
    });
    expect(settings).toMatchObject({ marketingSecret: configured, secretGenerated: false });
    expect(settings).not.toHaveProperty('secretFile');
  });
});
