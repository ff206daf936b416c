import { describe, expect, it } from 'vitest';
import { groupWhileBusy } from '../../../db/grouped-calls.js';

/** A group runner whose groups finish only when the test says so. */
function heldRunner() {
  const groups: number[][] = [];
  const finishers: (() => void)[] = [];
  const run = (items: number[]) => {
    groups.push(items);
    return new Promise<string[]>((resolve, reject) => {
      finishers.push(() =>
        items.includes(-1) ? reject(new Error('refused')) : resolve(items.map((n) => `#${n}`)),
      );
    });
  };
  const finishNext = async () => {
    finishers.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { run, groups, finishNext };
}

describe('groupWhileBusy', () => {
  it('sends a call at once and groups the calls that come while it is on its way, in order', async () => {
    const { run, groups, finishNext } = heldRunner();
    const call = groupWhileBusy(run);
    const answers = [1, 2, 3, 4].map((n) => call(n));
    expect(groups).toEqual([[1]]);
    await finishNext();
    expect(groups).toEqual([[1], [2, 3, 4]]);
    await finishNext();
    expect(await Promise.all(answers)).toEqual(['#1', '#2', '#3', '#4']);
    // Idle again: the next call goes at once, alone.
    const later = call(5);
    expect(groups).toEqual([[1], [2, 3, 4], [5]]);
    await finishNext();
    expect(await later).toBe('#5');
  });

  it('holds at most maxGroup calls in a group', async () => {
    const { run, groups, finishNext } = heldRunner();
    const call = groupWhileBusy(run, 2);
    const answers = [1, 2, 3, 4, 5].map((n) => call(n));
    await finishNext();
    await finishNext();
    await finishNext();
    expect(groups).toEqual([[1], [2, 3], [4, 5]]);
    expect(await Promise.all(answers)).toEqual(['#1', '#2', '#3', '#4', '#5']);
  });

  it("gives a failed group's error to each of its callers, and goes on with the next group", async () => {
    const { run, groups, finishNext } = heldRunner();
    const call = groupWhileBusy(run);
    const first = call(1);
    const failing = [call(-1), call(2)].map((answer) =>
      answer.then(String, (error: Error) => error.message),
    );
    await finishNext();
    await finishNext();
    expect(await Promise.all(failing)).toEqual(['refused', 'refused']);
    const after = call(3);
    await finishNext();
    expect(groups).toEqual([[1], [-1, 2], [3]]);
    expect([await first, await after]).toEqual(['#1', '#3']);
  });
});
