import { declarationOf, PLATFORM_NAMES } from '../activities/platforms/registry.js';
import { ApiError, type ErrorDetail } from './errors.js';

/**
 * What a sync request may ask of the platform it names, from the platform's declaration: an
 * unknown name, a list it cannot create, an option it has no notion of, a property key it would
 * refuse, a platform this deployment has no credentials for or cannot sync with yet. Checked
 * before anything starts, for `POST /sync` and a schedule's `sync` alike.
 */

/** The parts of a validated sync body the platforms' rules concern. */
export interface PlatformRequestBody {
  platform: string;
  list_id?: string | undefined;
  tags?: string[] | undefined;
  properties?: Record<string, string> | undefined;
}

/** 400 unsupported_platform for a name the registry does not list. */
export function requireKnownPlatform(name: string): void {
  if (declarationOf(name)) return;
  throw new ApiError(
    400,
    'unsupported_platform',
    `Platform "${name}" is not supported; use ${PLATFORM_NAMES.map((each) => `"${each}"`).join(' or ')}`,
    [{ field: 'platform', message: `must be one of ${PLATFORM_NAMES.join(', ')}` }],
  );
}

/** The first rule of the platform the body breaks, as its 400. */
export function requirePlatformRules(body: PlatformRequestBody): void {
  const platform = declarationOf(body.platform);
  if (!platform) {
    requireKnownPlatform(body.platform);
    return;
  }
  const { capabilities, title } = platform;
  if (!capabilities.createsLists && body.list_id === undefined) {
    throw new ApiError(
      400,
      'list_required',
      `${title} cannot create a ${capabilities.listWord} through its API: give the list_id of an existing one (list_name would make a new list)`,
      [{ field: 'list_id', message: `is required for ${body.platform}` }],
    );
  }
  if (!capabilities.tagsAsLists && (body.tags?.length ?? 0) > 0) {
    throw new ApiError(
      400,
      'unsupported_option',
      `${title} has no tag lists: leave tags out, or sync into each ${capabilities.listWord} by its list_id`,
      [{ field: 'tags', message: `is not supported on ${body.platform}` }],
    );
  }
  const badKeys: ErrorDetail[] = Object.keys(body.properties ?? {})
    .filter((key) => !capabilities.propertyKey.pattern.test(key))
    .map((key) => ({ field: `properties.${key}`, message: capabilities.propertyKey.description }));
  if (badKeys.length > 0) {
    throw new ApiError(400, 'invalid_request', capabilities.propertyKey.description, badKeys);
  }
}

/**
 * 400 platform_not_configured when this deployment has no credentials for the platform; 501
 * platform_not_available when it is declared but this version has no sync client for it yet.
 */
export function requireUsablePlatform(name: string, configured: ReadonlySet<string>): void {
  const platform = declarationOf(name);
  if (!platform) {
    requireKnownPlatform(name);
    return;
  }
  if (!configured.has(name)) {
    throw new ApiError(
      400,
      'platform_not_configured',
      `${platform.title} is not configured here: set ${platform.credential} (for the API and the worker)`,
      [{ field: 'platform', message: `${name} has no credentials in this deployment` }],
    );
  }
  if (!platform.client) {
    throw new ApiError(
      501,
      'platform_not_available',
      `${platform.title} is declared and configured, but this version cannot sync with it yet`,
      [{ field: 'platform', message: `${name} cannot sync yet` }],
    );
  }
}
