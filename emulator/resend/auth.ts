import { ApiError, MESSAGES } from './errors.js';

export type AuthResult = { ok: true; team: string } | { ok: false; error: ApiError };

export const DEFAULT_TEAM = 'default';
const DEFAULT_KEY_FORMAT = /^re_\w+$/;

export interface KeyPolicy {
  /** Accepted keys; undefined accepts any key in Resend's format. */
  apiKeys: ReadonlySet<string> | undefined;
  apiKeyTeams: Readonly<Record<string, string>>;
}

/**
 * No usable `Authorization: Bearer …` header → 401 `missing_api_key`. A key that is malformed or
 * not known → 400 `validation_error` "API key is invalid", as the current error reference says
 * for non-sending endpoints (older references said 403 `invalid_api_key`).
 */
export function authenticate(authorization: string | undefined, policy: KeyPolicy): AuthResult {
  const key = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  if (!key)
    return { ok: false, error: new ApiError(401, 'missing_api_key', MESSAGES.missingApiKey) };
  const accepted = policy.apiKeys ? policy.apiKeys.has(key) : DEFAULT_KEY_FORMAT.test(key);
  if (!accepted) {
    return { ok: false, error: new ApiError(400, 'validation_error', MESSAGES.invalidApiKey) };
  }
  return { ok: true, team: policy.apiKeyTeams[key] ?? DEFAULT_TEAM };
}
