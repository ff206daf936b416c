import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Search attributes let operators filter runs in the Web UI (`SyncType = "new"`). They are stored
 * unencrypted, so they hold only non-personal values.
 */
export const SyncTypeKey = defineSearchAttributeKey('SyncType', SearchAttributeType.KEYWORD);
export const SyncPlatformKey = defineSearchAttributeKey(
  'SyncPlatform',
  SearchAttributeType.KEYWORD,
);
export const SyncListIdKey = defineSearchAttributeKey('SyncListId', SearchAttributeType.KEYWORD);
export const SyncTriggerKey = defineSearchAttributeKey('SyncTrigger', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [SyncTypeKey, SyncPlatformKey, SyncListIdKey, SyncTriggerKey];
