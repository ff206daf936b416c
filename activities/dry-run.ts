import type { MarketingPlatform } from './platforms/platform.js';

/** A write a dry run must never make: the platform refuses it here, before any request. */
export class DryRunWriteError extends Error {
  override name = 'DryRunWriteError';
  constructor(operation: string) {
    super(`A dry run writes nothing to the platform; ${operation} was refused`);
  }
}

/**
 * The platform as a dry run sees it: reads go to the real platform, and every write is refused
 * before it is sent. A dry run's batches record their plan instead of applying it (see
 * plan/plan-batch.ts), so nothing of a dry run writes; this is the net under that promise.
 */
export function readOnlyPlatform(platform: MarketingPlatform): MarketingPlatform {
  const refuse = (operation: string) => async (): Promise<never> => {
    throw new DryRunWriteError(operation);
  };
  const { findContacts, findList } = platform;
  if (!findContacts || !findList) {
    throw new DryRunWriteError(`planning on ${platform.name}, which cannot answer reads for it,`);
  }
  return {
    name: platform.name,
    account: platform.account,
    ...(platform.contactsFollowUsers ? { contactsFollowUsers: true } : {}),
    ...(platform.prepare ? { prepare: platform.prepare.bind(platform) } : {}),
    getList: (listId) => platform.getList(listId),
    findList: (name) => findList.call(platform, name),
    findContacts: (contacts) => findContacts.call(platform, contacts),
    createRunList: refuse('creating a list'),
    findOrCreateList: refuse('creating a tag list'),
    defineProperties: refuse('defining properties'),
    deleteContacts: refuse('deleting contacts'),
    syncContacts: refuse('creating or joining contacts'),
    patchContacts: refuse('patching contacts'),
    removeFromList: refuse('removing contacts from a list'),
    markUnsubscribed: refuse('marking contacts unsubscribed'),
  };
}
