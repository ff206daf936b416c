import { describe, expect, it } from 'vitest';
import { applyFactTo, type ConsentRecord, stateOf } from '../../../db/consent.js';

const at = (minute: number) => new Date(Date.UTC(2027, 0, 1, 12, minute));
const none: ConsentRecord = {
  unsubscribed: false,
  unsubscribedAt: null,
  deletedAt: null,
  suppressedAt: null,
  liftedAt: null,
};

describe('consent facts', () => {
  it('start an opt-out once, however often they are repeated', () => {
    const first = applyFactTo(undefined, { kind: 'unsubscribed', unsubscribed: true }, at(1));
    expect(first?.started).toBe('unsubscribed');
    expect(
      first && applyFactTo(first.record, { kind: 'unsubscribed', unsubscribed: true }, at(2)),
    ).toBeNull();
    const deleted = applyFactTo(none, { kind: 'deleted' }, at(3));
    expect(deleted).toEqual({ record: { ...none, deletedAt: at(3) }, started: 'deleted' });
    expect(deleted && applyFactTo(deleted.record, { kind: 'deleted' }, at(4))).toBeNull();
  });

  it('apply in the order they happened, not the order they arrive', () => {
    const unsubscribed = { ...none, unsubscribed: true, unsubscribedAt: at(10) };
    // A resubscribe from before the unsubscribe changes nothing; one after it lifts it.
    expect(
      applyFactTo(unsubscribed, { kind: 'unsubscribed', unsubscribed: false }, at(5)),
    ).toBeNull();
    const lifted = applyFactTo(unsubscribed, { kind: 'unsubscribed', unsubscribed: false }, at(12));
    expect(lifted).toEqual({
      record: { ...none, unsubscribed: false, unsubscribedAt: at(12) },
      started: null,
    });
    // Heard of first as subscribed: an older unsubscribe arriving later starts nothing.
    const subscribed = applyFactTo(
      undefined,
      { kind: 'unsubscribed', unsubscribed: false },
      at(20),
    );
    expect(subscribed?.record).toEqual({ ...none, unsubscribedAt: at(20) });
    expect(
      subscribed &&
        applyFactTo(subscribed.record, { kind: 'unsubscribed', unsubscribed: true }, at(15)),
    ).toBeNull();
  });

  it("count only after the app's lift, until the platform changes its mind again", () => {
    const record: ConsentRecord = {
      unsubscribed: true,
      unsubscribedAt: at(1),
      deletedAt: at(2),
      suppressedAt: at(3),
      liftedAt: at(4),
    };
    expect(stateOf(record)).toEqual({ unsubscribed: false, deleted: false, suppressed: false });
    // The flag repeated by a later update is no new unsubscribe: the lift stands.
    expect(applyFactTo(record, { kind: 'unsubscribed', unsubscribed: true }, at(5))).toBeNull();
    // A deletion from before the lift, delivered late, is not a new one; a later one is.
    expect(applyFactTo(record, { kind: 'deleted' }, at(4))).toBeNull();
    const deletedAgain = applyFactTo(record, { kind: 'deleted' }, at(6));
    expect(deletedAgain?.started).toBe('deleted');
    expect(deletedAgain && stateOf(deletedAgain.record)).toEqual({
      unsubscribed: false,
      deleted: true,
      suppressed: false,
    });
    // Resubscribed and unsubscribed again on the platform: a new opt-out.
    const resubscribed = applyFactTo(record, { kind: 'unsubscribed', unsubscribed: false }, at(7));
    const again =
      resubscribed &&
      applyFactTo(resubscribed.record, { kind: 'unsubscribed', unsubscribed: true }, at(8));
    expect(again?.started).toBe('unsubscribed');
  });
});
