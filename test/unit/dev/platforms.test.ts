import { describe, expect, it } from 'vitest';
import { DECLARATIONS } from '../../../activities/platforms/registry.js';
import { READY_LINE, renderBanner } from '../../../dev/banner.js';
import { devOnlySchema, readDevSettings } from '../../../dev/settings.js';
import type { DevStackInfo, PlatformInfo } from '../../../dev/stack.js';

const SECRET = 's'.repeat(43);

/** Which platforms the stack would emulate, with the port and rate of each. */
const emulatorsFor = (env: Record<string, string>) =>
  readDevSettings({ MARKETING_API_SECRET: SECRET, ...env }).emulators.map(
    ({ platform, port, rateLimit }) => ({ name: platform.name, port, rateLimit }),
  );

describe('npm run dev: which platforms it emulates', () => {
  it('runs the emulator of every declared platform whose credentials are unset, on its own port', () => {
    expect(emulatorsFor({})).toEqual([
      { name: 'resend', port: 8787, rateLimit: 10 },
      { name: 'loops', port: 8788, rateLimit: 10 },
    ]);
    expect(emulatorsFor({ LOOPS_EMULATOR_PORT: '9100', LOOPS_EMULATOR_RATE_LIMIT: '50' })).toEqual([
      { name: 'resend', port: 8787, rateLimit: 10 },
      { name: 'loops', port: 9100, rateLimit: 50 },
    ]);
  });

  it('uses a platform whose key is set for real, whichever it is', () => {
    expect(emulatorsFor({ LOOPS_API_KEY: 'loops_real_key' })).toEqual([
      { name: 'resend', port: 8787, rateLimit: 10 },
    ]);
    expect(emulatorsFor({ RESEND_API_KEY: 're_real_key' })).toEqual([
      { name: 'loops', port: 8788, rateLimit: 10 },
    ]);
    expect(
      emulatorsFor({ RESEND_API_KEY: 're_real_key', LOOPS_API_KEY: 'loops_real_key' }),
    ).toEqual([]);
  });

  it("reads every emulator's port and rate variables, named by the declarations", () => {
    const declared = DECLARATIONS.flatMap(({ emulator }) =>
      emulator ? [emulator.port.variable, emulator.rateLimit.variable] : [],
    );
    expect(declared).toEqual([
      'RESEND_EMULATOR_PORT',
      'RESEND_EMULATOR_RATE_LIMIT',
      'LOOPS_EMULATOR_PORT',
      'LOOPS_EMULATOR_RATE_LIMIT',
    ]);
    expect(Object.keys(devOnlySchema.shape)).toEqual(expect.arrayContaining(declared));
    expect(() =>
      readDevSettings({ MARKETING_API_SECRET: SECRET, LOOPS_EMULATOR_PORT: 'x' }),
    ).toThrow(/LOOPS_EMULATOR_PORT/);
  });
});

const info = (platforms: PlatformInfo[]): DevStackInfo => ({
  apiUrl: 'http://127.0.0.1:3000',
  namespace: 'default',
  taskQueue: 'audience-sync',
  database: { kind: 'external', where: 'db:5432/app' },
  temporal: { kind: 'external', address: 'temporal:7233' },
  platforms,
  usersSource: 'users',
});

const loopsEmulator: PlatformInfo = {
  kind: 'emulator',
  name: 'loops',
  url: 'http://127.0.0.1:8788',
  description: {
    summary: 'emulator at http://127.0.0.1:8788 (SDK apiRoot http://127.0.0.1:8788/api/)',
    webhooks: 'the emulator sends contact.unsubscribed to {route}, signed',
    demoList: { id: 'cm_demo_list_1', name: 'Demo mailing list' },
  },
};

const render = (platforms: PlatformInfo[]) =>
  renderBanner({
    info: info(platforms),
    secret: { value: SECRET, generated: true },
    startupMs: 1000,
    cwd: '/',
  });

describe('npm run dev: the banner, per platform', () => {
  it("prints one line per platform from its emulator's description, and its webhook route", () => {
    const banner = render([
      {
        kind: 'emulator',
        name: 'resend',
        url: 'http://127.0.0.1:8787',
        description: { summary: 'emulator at http://127.0.0.1:8787, 10 requests/s' },
      },
      loopsEmulator,
    ]);
    const rows = banner.split('\n').filter((line) => /^ {2}(Resend|Loops)/.test(line));
    expect(rows.map((line) => line.trim().replace(/ {2,}/, ' | '))).toEqual([
      'Resend | emulator at http://127.0.0.1:8787, 10 requests/s',
      'Loops | emulator at http://127.0.0.1:8788 (SDK apiRoot http://127.0.0.1:8788/api/)',
      'Loops webhooks | the emulator sends contact.unsubscribed to http://127.0.0.1:3000/webhooks/loops, signed',
    ]);
    expect(banner.trimEnd().endsWith(READY_LINE)).toBe(true);
  });

  it('prints a ready-to-paste Loops sync into the demo mailing list', () => {
    const banner = render([loopsEmulator]);
    expect(banner).toContain(
      `  # Sync the users active in the last 30 days into Loops' demo mailing list "Demo mailing list"\n`,
    );
    expect(banner).toContain(
      `  curl -sS -X POST 'http://127.0.0.1:3000/api/marketing/sync' \\\n` +
        `    -H 'Authorization: Bearer ${SECRET}' -H 'Content-Type: application/json' \\\n` +
        `    -d '{"platform":"loops","list_id":"cm_demo_list_1","sync_type":"all","filterActive":true,"activeDays":30}'\n`,
    );
  });

  it('names the key of a platform used for real, and where to point its webhooks', () => {
    const banner = render([
      { kind: 'platform', name: 'loops', baseUrl: 'https://app.loops.so/api/' },
    ]);
    expect(banner).toMatch(
      /^ {2}Loops +https:\/\/app\.loops\.so\/api\/ \(LOOPS_API_KEY is set\)$/m,
    );
    expect(banner).toMatch(
      /^ {2}Loops webhooks +Loops can send .* to http:\/\/127\.0\.0\.1:3000\/webhooks\/loops once it is reachable from the internet: set the endpoint in Loops/m,
    );
    // No demo list without the emulator: no Loops sync to paste.
    expect(banner).not.toContain('"platform":"loops"');
  });
});
