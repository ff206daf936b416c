import { describe, expect, it } from 'vitest';
import { SentTimes } from '../../../activities/platforms/sent-times.js';

describe('the times requests actually left', () => {
  it('let one more leave at once while fewer than the limit left', () => {
    const sent = new SentTimes();
    expect(sent.nextAt(3, 1005)).toBe(Number.NEGATIVE_INFINITY);
    sent.record(100, 3);
    sent.record(110, 3);
    expect(sent.nextAt(3, 1005)).toBe(Number.NEGATIVE_INFINITY);
  });

  it('hold the next one a window after the one that left `limit` requests before it', () => {
    const sent = new SentTimes();
    for (const at of [100, 110, 400]) sent.record(at, 3);
    expect(sent.nextAt(3, 1005)).toBe(1105);
    sent.record(1105, 3);
    expect(sent.nextAt(3, 1005)).toBe(1115);
    // A lower limit counts back fewer requests.
    expect(sent.nextAt(2, 1005)).toBe(1405);
  });

  it('keep what a limit raised later needs, and no more than twice the limit', () => {
    const sent = new SentTimes();
    for (let at = 0; at < 100; at += 1) sent.record(at, 10);
    expect(sent.nextAt(10, 1000)).toBe(1090);
    expect(sent.nextAt(11, 1000)).toBe(1089);
    expect(sent.nextAt(25, 1000)).toBe(Number.NEGATIVE_INFINITY);
  });
});
