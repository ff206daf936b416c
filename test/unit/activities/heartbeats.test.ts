import { afterEach, describe, expect, it, vi } from 'vitest';
import { beatingWhile, throttledHeartbeat } from '../../../activities/heartbeats.js';

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

describe('beating while work runs', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('beats on the interval until the work settles, then never again, and answers its result', async () => {
    vi.useFakeTimers();
    let beats = 0;
    let finish: (value: string) => void = () => {};
    const running = beatingWhile(
      () => {
        beats += 1;
      },
      5000,
      () =>
        new Promise<string>((resolve) => {
          finish = resolve;
        }),
    );
    await vi.advanceTimersByTimeAsync(15_000);
    expect(beats).toBe(3);
    finish('done');
    expect(await running).toBe('done');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(beats).toBe(3);
  });

  it('stops beating when the work fails', async () => {
    vi.useFakeTimers();
    let beats = 0;
    const failing = beatingWhile(
      () => {
        beats += 1;
      },
      5000,
      async () => {
        throw new Error('statement failed');
      },
    );
    await expect(failing).rejects.toThrow('statement failed');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(beats).toBe(0);
  });
});
