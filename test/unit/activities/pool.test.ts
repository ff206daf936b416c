import { describe, expect, it } from 'vitest';
import { forEachSettling } from '../../../activities/platforms/pool.js';

/** A task that finishes when the test says so. */
function deferred() {
  let resolve = () => {};
  const done = new Promise<void>((r) => {
    resolve = r;
  });
  return { done, resolve };
}

describe('forEachSettling', () => {
  it('runs every item with at most the given number at once', async () => {
    let open = 0;
    let most = 0;
    const seen: number[] = [];
    await forEachSettling([1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
      open += 1;
      most = Math.max(most, open);
      await Promise.resolve();
      seen.push(item);
      open -= 1;
    });
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBe(3);
  });

  it('starts nothing after a failure, lets the tasks in flight settle, then throws the first error', async () => {
    const started: number[] = [];
    const settled: number[] = [];
    const slow = deferred();
    const run = forEachSettling([1, 2, 3, 4, 5], 2, async (item) => {
      started.push(item);
      if (item === 1) {
        await slow.done;
        settled.push(item);
        return;
      }
      throw new Error(`item ${item} failed`);
    });
    let finished = false;
    const outcome = run.then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    void outcome.then(() => {
      finished = true;
    });
    // Item 2 failed while item 1 is still in flight: the run waits for item 1.
    await new Promise((resolve) => setImmediate(resolve));
    expect(finished).toBe(false);
    slow.resolve();
    expect(await outcome).toBe('item 2 failed');
    expect(started).toEqual([1, 2]);
    expect(settled).toEqual([1]);
  });
});
