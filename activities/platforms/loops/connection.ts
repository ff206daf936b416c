import type { PlatformContext, PlatformRejection } from '../platform.js';
import { redactedPlatformMessage } from '../platform-messages.js';
import { refusalReason } from './answers.js';
import type { LoopsApi } from './client.js';
import type { LoopsMemberships } from './memberships.js';
import type { LoopsProperties } from './properties.js';

/** What the contact steps of one connection share: the attempt's context and the team's parts. */
export interface LoopsConnection {
  context: PlatformContext;
  /** The team's id (loopsAccountId), as consent records key it. */
  account: string;
  api: LoopsApi;
  memberships: LoopsMemberships;
  properties: LoopsProperties;
}

/** Loops refused this request: its status as the reason, its message kept without emails. */
export function rejection(failure: {
  kind: string;
  status?: number;
  message?: string | undefined;
}): PlatformRejection {
  const platformMessage = redactedPlatformMessage(failure.message);
  return {
    kind: 'rejected',
    reason: refusalReason(failure),
    ...(platformMessage ? { platformMessage } : {}),
  };
}

/** `mailingLists` subscribing to (true) or leaving (false) each list; undefined when none. */
export const mailingLists = (
  listIds: string[],
  subscribed: boolean,
): Record<string, boolean> | undefined =>
  listIds.length === 0
    ? undefined
    : Object.fromEntries(listIds.map((listId) => [listId, subscribed]));
