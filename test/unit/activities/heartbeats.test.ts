import { describe, expect, it } from 'vitest';
import { throttledHeartbeat } from '../../../activities/heartbeats.js';

describe('a throttled heartbeat', () => {
  it('beats at once, then at most once per interval, and only when called', () => {
    let clock = 1000;
    const beats: number[] = [];
    const beat = throttledHeartbeat(
      () => beats.push(clock),
      500,
      () => clock,
    );
    beat();
    clock += 100;
    beat();
    clock += 399;
    beat();
    expect(beats).toEqual([1000]);
    clock += 1;
    beat();
    beat();
    expect(beats).toEqual([1000, 1500]);
    // No calls, no beats: a batch whose requests hang stops heartbeating.
    clock += 60_000;
    expect(beats).toEqual([1000, 1500]);
    beat();
    expect(beats).toEqual([1000, 1500, 61_500]);
  });
});
