import { describe, expect, it } from 'vitest';
import { unreadBelow } from '../../../activities/platforms/resend/contact-directory.js';

/** Contacts newest first, as Resend lists them, created a second apart from `from` down. */
const contacts = (ids: string[], from: number) =>
  ids.map((id, index) => ({
    id,
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, from - index)).toISOString(),
  }));

const lastLookAt = (second: number, id: string) => ({
  watermark: new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString(),
  watermarkId: id,
});

describe('the page the directory reads after an import', () => {
  it('leaves the contacts below it unread when it does not reach the last look', () => {
    const page = { contacts: contacts(['c9', 'c8', 'c7'], 9), hasMore: true };
    expect(unreadBelow(page, lastLookAt(3, 'c3'))).toEqual(page.contacts[2]);
  });

  it('leaves nothing unread when it reaches the last look, by its contact or an older one', () => {
    expect(
      unreadBelow(
        { contacts: contacts(['c5', 'c4', 'c3'], 5), hasMore: true },
        lastLookAt(3, 'c3'),
      ),
    ).toBeNull();
    // The contact of the last look was deleted meanwhile: an older one shows the page reached it.
    const older = {
      contacts: [...contacts(['c5', 'c4'], 5), ...contacts(['c2'], 2)],
      hasMore: true,
    };
    expect(unreadBelow(older, lastLookAt(3, 'gone'))).toBeNull();
  });

  it('leaves nothing unread on the last page of the account, or an empty one', () => {
    const page = { contacts: contacts(['c9', 'c8'], 9), hasMore: false };
    expect(unreadBelow(page, lastLookAt(3, 'c3'))).toBeNull();
    expect(unreadBelow({ contacts: [], hasMore: true }, lastLookAt(3, 'c3'))).toBeNull();
  });

  it('with no look before (an empty account), leaves everything below a full page unread', () => {
    const page = { contacts: contacts(['c9', 'c8'], 9), hasMore: true };
    expect(unreadBelow(page, { watermark: null, watermarkId: null })).toEqual(page.contacts[1]);
  });

  it('takes a contact created in the same instant as the last look as not older', () => {
    const page = { contacts: contacts(['c4', 'x3'], 4), hasMore: true };
    expect(unreadBelow(page, lastLookAt(3, 'c3'))).toEqual(page.contacts[1]);
  });
});
