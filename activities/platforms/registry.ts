import { emailHash } from '../../common/emails.js';
import { tombstonedEmailHashes } from '../../db/erasures.js';
import type { Sql } from '../../db/sql.js';
import type { MarketingPlatform, PlatformContext, PlatformModule } from './platform.js';
import { createRequestGate, type RequestGate } from './request-gate.js';
import { type ResendSettings, resendPlatform } from './resend/index.js';

/** The `platform` values a sync request may name, and the one the simple endpoints use. */
export const PLATFORM_NAMES = ['resend'] as const;
export const DEFAULT_PLATFORM = 'resend';

/** The platforms this service ships, configured from the worker's settings. */
export const builtInPlatforms = (settings: { resend: ResendSettings }): PlatformModule[] => [
  resendPlatform(settings.resend),
];

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
  const isErased = async (email: string) =>
    (await tombstonedEmailHashes(sql, [emailHash(email)])).size > 0;
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
