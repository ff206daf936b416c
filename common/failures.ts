/**
 * Failure types that end a run at once, because retrying cannot heal them. Shared by the
 * activities that raise them and the workflow's retry policies.
 */
export const NON_RETRYABLE_FAILURES = [
  'ListNotFound',
  'ListRefused',
  'RunMissing',
  'UsersSourceError',
  'UnknownPlatformError',
  'list_refused',
  'platform_auth_failed',
  'invalid_data',
  'removal_guard_tripped',
];
