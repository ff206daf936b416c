import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The folder rules are the linter's: an import that breaks one fails `npm run lint`. Probe files
 * are linted with the project's own biome.json and plugin, in a folder of their own (never the
 * project's folders), so each rule is seen to refuse what it must and let through what it allows.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const biome = path.join(root, 'node_modules', '.bin', 'biome');

/** Probe file → its imports; `refused` names the rule's message, undefined when allowed. */
const PROBES: { file: string; source: string; refused?: RegExp }[] = [
  {
    file: 'api/routes/probe-activity.ts',
    source: "import { createSyncActivities } from '../../activities/index.js';",
    refused: /api\/ starts work through client\//,
  },
  {
    file: 'api/probe-platform.ts',
    source: "import { resendPlatform } from '../activities/platforms/resend/index.js';",
    refused: /api\/ starts work through client\//,
  },
  {
    file: 'api/probe-registry.ts',
    source: "import { PLATFORM_NAMES } from '../activities/platforms/registry.js';",
  },
  {
    file: 'api/probe-migrations.ts',
    source: "import { migrations } from '../db/migrations.js';",
    refused: /the migrations are db\/'s own/,
  },
  {
    file: 'api/probe-repository.ts',
    source: "import { readOptOuts } from '../db/consent.js';",
  },
  {
    file: 'api/probe-worker.ts',
    source: "import { createSyncWorker } from '../worker/worker.js';",
    refused: /api\/ depends inward/,
  },
  {
    file: 'config/probe.ts',
    source: "import { resendPlatform } from '../activities/platforms/resend/index.js';",
    refused: /config\/ reads the platforms' settings from the registry/,
  },
  {
    file: 'workflows/probe-value.ts',
    source: "import { createSyncActivities } from '../activities/index.js';",
    refused: /workflows\/ imports only the activities' types: write `import type`/,
  },
  {
    file: 'workflows/probe-types.ts',
    source: "import type { SyncActivities } from '../activities/index.js';",
  },
  {
    file: 'workflows/probe-inner-module.ts',
    source: "import type { BatchUser } from '../activities/sync-batch.js';",
    refused: /workflows\/ imports only the activities' types, from activities\/index.ts/,
  },
  {
    file: 'workflows/probe-db.ts',
    source: "import type { Sql } from '../db/sql.js';",
    refused: /workflows\/ depends on activity types, common\/ and the Temporal workflow SDK only/,
  },
  {
    file: 'activities/platforms/loops/probe-sibling.ts',
    source: "import { resendPlatform } from '../resend/index.js';",
    refused: /a platform imports nothing from another platform's folder/,
  },
  {
    file: 'activities/platforms/resend/probe-shared.ts',
    source: [
      "import { PlatformError } from '../platform.js';",
      "import { emailHash } from '../../../common/emails.js';",
    ].join('\n'),
  },
];

interface Diagnostic {
  category: string;
  message: string;
  location: { path: string };
}

let folder: string;
let diagnostics: Diagnostic[];

/** Lints the probes with the project's configuration; answers every diagnostic. */
function lintProbes(): Promise<Diagnostic[]> {
  return new Promise((resolve, reject) => {
    execFile(
      biome,
      ['lint', '--reporter=json', '--max-diagnostics=none', '.'],
      { cwd: folder, maxBuffer: 10 * 1024 * 1024 },
      (error, stdout) => {
        try {
          resolve((JSON.parse(stdout) as { diagnostics: Diagnostic[] }).diagnostics);
        } catch {
          reject(error ?? new Error(`biome answered no report: ${stdout.slice(0, 500)}`));
        }
      },
    );
  });
}

beforeAll(async () => {
  folder = mkdtempSync(path.join(tmpdir(), 'folder-rules-'));
  const config = JSON.parse(readFileSync(path.join(root, 'biome.json'), 'utf8'));
  // The probe folder is no git checkout and has no schema beside it.
  config.$schema = undefined;
  config.vcs = { enabled: false };
  writeFileSync(path.join(folder, 'biome.json'), JSON.stringify(config));
  cpSync(path.join(root, 'lint'), path.join(folder, 'lint'), { recursive: true });
  for (const probe of PROBES) {
    mkdirSync(path.join(folder, path.dirname(probe.file)), { recursive: true });
    writeFileSync(path.join(folder, probe.file), `${probe.source}\n`);
  }
  diagnostics = await lintProbes();
}, 30_000);

afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** The folder-rule diagnostics of one probe: restricted imports and the workflow plugin. */
const ruleMessages = (file: string): string[] =>
  diagnostics
    .filter((diagnostic) => diagnostic.location.path.replaceAll('\\', '/').endsWith(file))
    .filter(
      (diagnostic) =>
        diagnostic.category === 'lint/style/noRestrictedImports' ||
        diagnostic.category === 'plugin',
    )
    .map((diagnostic) => diagnostic.message);

describe('the folder rules, as `npm run lint` applies them', () => {
  it.each(PROBES.filter((probe) => probe.refused))('refuses $file', ({ file, refused }) => {
    const messages = ruleMessages(file);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(refused as RegExp);
  });

  it.each(PROBES.filter((probe) => !probe.refused))('allows $file', ({ file }) => {
    expect(ruleMessages(file)).toEqual([]);
  });
});
