import { describe, expect, it } from 'vitest';
import {
  configuredPlatformNames,
  DECLARATIONS,
  PLATFORM_NAMES,
} from '../../../activities/platforms/registry.js';
import { ApiError } from '../../../api/errors.js';
import { openApiDocument } from '../../../api/openapi.js';
import { requirePlatformRules, requireUsablePlatform } from '../../../api/platform-rules.js';
import { apiConfigSchema, parseConfig, workerConfigSchema } from '../../../config/env.js';

/** What the registry says, and what the configuration, the rules and the document derive. */

const SECRET = 'a'.repeat(32);
const DATABASE_URL = 'postgres://db.internal/app';

/** The code of the ApiError a check throws, or 'accepted'. */
function codeOf(check: () => void): string {
  try {
    check();
  } catch (error) {
    if (error instanceof ApiError) return error.code;
    throw error;
  }
  return 'accepted';
}

/** A credential the platform's own settings accept (Resend's keys start with re_). */
const credentialOf = (name: string) => (name === 'resend' ? 're_abc123' : `${name}_abc123`);

describe('the platform registry as the only list', () => {
  it('gives /openapi.json its platform values and one webhook path per platform with webhooks', () => {
    const document = openApiDocument() as {
      paths: Record<string, unknown>;
      components: { schemas: Record<string, { properties?: Record<string, { enum?: string[] }> }> };
    };
    const webhookPaths = Object.keys(document.paths).filter((path) =>
      path.startsWith('/webhooks/'),
    );
    expect(webhookPaths.sort()).toEqual(
      DECLARATIONS.filter((platform) => platform.webhook)
        .map((platform) => `/webhooks/${platform.name}`)
        .sort(),
    );
    const platformEnums = Object.values(document.components.schemas).flatMap((schema) =>
      schema.properties?.platform?.enum ? [schema.properties.platform.enum] : [],
    );
    expect(platformEnums.length).toBeGreaterThan(0);
    for (const values of platformEnums) expect(values).toEqual(PLATFORM_NAMES);
  });

  it('reads every platform variable in the API and the worker configuration', () => {
    const declared = DECLARATIONS.flatMap((platform) => Object.keys(platform.settings));
    expect(Object.keys(apiConfigSchema.shape)).toEqual(expect.arrayContaining(declared));
    expect(Object.keys(workerConfigSchema.shape)).toEqual(expect.arrayContaining(declared));
  });

  it.each(DECLARATIONS.map((platform) => [platform.name, platform] as const))(
    'starts a deployment with only %s configured, which serves that platform alone',
    (name, platform) => {
      const env = { DATABASE_URL, [platform.credential]: credentialOf(name) };
      const api = parseConfig(apiConfigSchema, { ...env, MARKETING_API_SECRET: SECRET });
      const worker = parseConfig(workerConfigSchema, env);
      expect(configuredPlatformNames(api)).toEqual([name]);
      expect(configuredPlatformNames(worker)).toEqual([name]);
      for (const other of DECLARATIONS.filter((each) => each.name !== name)) {
        expect(codeOf(() => requireUsablePlatform(other.name, new Set([name])))).toBe(
          'platform_not_configured',
        );
      }
    },
  );

  it.each(DECLARATIONS.map((platform) => [platform.name, platform] as const))(
    "holds a sync request for %s to the platform's capabilities",
    (name, { capabilities }) => {
      expect(codeOf(() => requirePlatformRules({ platform: name }))).toBe(
        capabilities.createsLists ? 'accepted' : 'list_required',
      );
      expect(
        codeOf(() => requirePlatformRules({ platform: name, list_id: 'list_1', tags: ['vip'] })),
      ).toBe(capabilities.tagsAsLists ? 'accepted' : 'unsupported_option');
    },
  );

  it('refuses a platform the registry does not list', () => {
    expect(codeOf(() => requirePlatformRules({ platform: 'mailchimp' }))).toBe(
      'unsupported_platform',
    );
  });
});
