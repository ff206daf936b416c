import { describe, expect, it } from 'vitest';
import {
  newerReadLimit,
  sharesLastLook,
  unreadBelow,
} from '../../../activities/platforms/resend/contact-directory.js';

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

describe("a batch's look at the contacts created since the last one", () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);

  it('is shared with a look of the account begun less than a second before, not read again', () => {
    expect(sharesLastLook(now - 999, now)).toBe(true);
    expect(sharesLastLook(now - 300, now)).toBe(true);
    expect(sharesLastLook(now - 1_000, now)).toBe(false);
    expect(sharesLastLook(undefined, now)).toBe(false);
  });

  it('reads every contact newer than a watermark made in the last minute in one answer', () => {
    const watermark = new Date(now - 59_000).toISOString();
    expect(newerReadLimit({ watermark, batch: true }, now)).toBeNull();
  });

  it("keeps to pages of 100 for a run's first look, an older watermark, or none", () => {
    const recent = new Date(now - 1_000).toISOString();
    expect(newerReadLimit({ watermark: recent, batch: false }, now)).toBe(100);
    const older = new Date(now - 60_000).toISOString();
    expect(newerReadLimit({ watermark: older, batch: true }, now)).toBe(100);
    expect(newerReadLimit({ watermark: null, batch: true }, now)).toBe(100);
  });

  it('reads a watermark in the form Resend lists it, with microseconds', () => {
    expect(
      newerReadLimit({ watermark: '2026-01-01 11:59:30.123456+00', batch: true }, now),
    ).toBeNull();
  });
});
