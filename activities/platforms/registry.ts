import { emailHash } from '../../common/emails.js';
import type { ContactDirectoryHooks } from '../../db/consent.js';
import { tombstonedEmailHashes } from '../../db/erasures.js';
import { groupWhileBusy } from '../../db/grouped-calls.js';
import type { PlatformMigrations } from '../../db/migrate.js';
import type { Sql } from '../../db/sql.js';
import type { PlatformDeclaration } from './declaration.js';

export type {
  PlatformCapabilities,
  PlatformDeclaration,
  SignatureHeaders,
  StartedPlatformEmulator,
  WebhookFacts,
} from './declaration.js';

import { loopsDeclaration } from './loops/declaration.js';
import type { MarketingPlatform, PlatformContext, PlatformModule } from './platform.js';
import { createRequestGate, type RequestGate } from './request-gate.js';
import { resendDeclaration } from './resend/declaration.js';

/**
 * The platforms this service ships: the one list. Adding a platform is a folder under
 * activities/platforms/ with its declaration, and one entry here; the configuration, request
 * validation, `/openapi.json`, the webhook routes, the migrations, `npm run dev`, `.env.example`
 * and docker-compose.yml follow (tests hold the last two to this list).
 */
export const PLATFORMS = [resendDeclaration, loopsDeclaration] as const;

/** The same list, as the declarations' common shape. */
export const DECLARATIONS: readonly PlatformDeclaration[] = PLATFORMS;

export type PlatformName = (typeof PLATFORMS)[number]['name'];

/** The `platform` values a sync request may name. */
export const PLATFORM_NAMES = PLATFORMS.map((platform) => platform.name) as [
  PlatformName,
  ...PlatformName[],
];

/** The platform of `POST /sync-users`, which always creates an audience: Resend's segments. */
export const DEFAULT_PLATFORM = resendDeclaration.name;

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (
  i: infer I,
) => void
  ? I
  : never;

/** Every platform's variables, for the configuration schemas. */
export const PLATFORM_SETTINGS = Object.assign(
  {},
  ...PLATFORMS.map((platform) => platform.settings),
) as UnionToIntersection<(typeof PLATFORMS)[number]['settings']>;

export const declarationOf = (name: string): PlatformDeclaration | undefined =>
  DECLARATIONS.find((platform) => platform.name === name);

/** A platform's own variables out of a parsed configuration. */
export const settingsOf = (
  platform: PlatformDeclaration,
  config: Readonly<Record<string, unknown>>,
): Record<string, unknown> =>
  Object.fromEntries(Object.keys(platform.settings).map((name) => [name, config[name]]));

/** Whether the configuration holds the platform's credentials. */
export const isConfigured = (
  platform: PlatformDeclaration,
  config: Readonly<Record<string, unknown>>,
): boolean => {
  const credential = config[platform.credential];
  return typeof credential === 'string' && credential !== '';
};

/** The names of the platforms whose credentials the configuration holds. */
export const configuredPlatformNames = (config: Readonly<Record<string, unknown>>): string[] =>
  DECLARATIONS.filter((platform) => isConfigured(platform, config)).map(
    (platform) => platform.name,
  );

/** Each platform's migrations, in the registry's order (db/migrate.ts applies them). */
export const PLATFORM_MIGRATIONS: PlatformMigrations[] = DECLARATIONS.map((platform) => ({
  platform: platform.name,
  migrations: platform.migrations,
}));

/** The contact directories consent records consult, by platform. */
export const CONTACT_DIRECTORIES: Record<string, ContactDirectoryHooks> = Object.fromEntries(
  DECLARATIONS.flatMap((platform) =>
    platform.contactDirectory ? [[platform.name, platform.contactDirectory]] : [],
  ),
);

/**
 * The sync clients of the configured platforms, loaded for a worker. `declaredOnly`: platforms
 * configured whose client this version does not have yet (they cannot sync).
 */
export async function loadConfiguredPlatforms(
  config: Readonly<Record<string, unknown>>,
): Promise<{ modules: PlatformModule[]; declaredOnly: string[] }> {
  const modules: PlatformModule[] = [];
  const declaredOnly: string[] = [];
  for (const platform of DECLARATIONS.filter((each) => isConfigured(each, config))) {
    if (!platform.client) {
      declaredOnly.push(platform.name);
      continue;
    }
    modules.push(await platform.client(settingsOf(platform, config)));
  }
  return { modules, declaredOnly };
}

export interface PlatformRegistry {
  readonly names: string[];
  /** A client of the named platform for one activity attempt. */
  connect(
    name: string,
    context: Omit<PlatformContext, 'gate' | 'sql' | 'isErased'>,
  ): MarketingPlatform;
  /** The platform's access check through its gate; false when the platform has none. */
  checkAccess(
    name: string,
    context: Omit<PlatformContext, 'gate' | 'sql' | 'isErased'>,
  ): Promise<boolean>;
}

export class UnknownPlatformError extends Error {
  override name = 'UnknownPlatformError';
}

/**
 * Maps a `platform` value to its module. Each module's gate (its rate or connection limit) is
 * built once per process, so every activity on the account shares it.
 */
export function createPlatformRegistry(sql: Sql, modules: PlatformModule[]): PlatformRegistry {
  const byName = new Map(modules.map((module) => [module.name, module]));
  const gates = new Map<string, RequestGate>();
  // Asked before and after each create: the questions of contacts in flight go together.
  const erasedAmong = groupWhileBusy(async (hashes: string[]) => {
    const erased = await tombstonedEmailHashes(sql, hashes);
    return hashes.map((hash) => erased.has(hash));
  });
  const isErased = (email: string) => erasedAmong(emailHash(email));
  const moduleAndGate = (name: string) => {
    const module = byName.get(name);
    if (!module) throw new UnknownPlatformError(`No platform named "${name}" is configured`);
    let gate = gates.get(name);
    if (!gate) {
      gate = createRequestGate(sql, module.account, module.limit);
      gates.set(name, gate);
    }
    return { module, gate };
  };
  return {
    names: [...byName.keys()],
    connect(name, context) {
      const { module, gate } = moduleAndGate(name);
      return module.connect({ ...context, sql, gate, isErased });
    },
    async checkAccess(name, context) {
      const { module, gate } = moduleAndGate(name);
      if (!module.checkAccess) return false;
      await module.checkAccess({ ...context, sql, gate, isErased });
      return true;
    },
  };
}
