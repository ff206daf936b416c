import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_TURN_WAIT_MS, SEND_AHEAD_USERS, SendTurns } from '../../../activities/send-turns.js';

/** Whether the promise has settled once pending callbacks ran. */
async function settled(promise: Promise<void>): Promise<boolean> {
  let done = false;
  void promise.then(() => {
    done = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

/** A batch that entered and read `users` users. */
function entered(turns: SendTurns, runId: string, batchNo: number, users: number) {
  const turn = turns.enter(runId, batchNo);
  turn.read(users);
  return turn;
}

describe('SendTurns', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets a batch send once the batch before it has at most SEND_AHEAD_USERS users left', async () => {
    const turns = new SendTurns();
    const first = entered(turns, 'run-1', 1, 100);
    const second = entered(turns, 'run-1', 2, 100);
    expect(await settled(first.ready())).toBe(true);
    const secondReady = second.ready();
    first.progressed(100 - SEND_AHEAD_USERS - 1);
    expect(await settled(secondReady)).toBe(false);
    first.progressed(1);
    expect(await settled(secondReady)).toBe(true);
  });

  it('lets the next batch go when the one before it leaves, whatever it had left', async () => {
    const turns = new SendTurns();
    const first = entered(turns, 'run-1', 4, 100);
    const second = entered(turns, 'run-1', 5, 100);
    const secondReady = second.ready();
    expect(await settled(secondReady)).toBe(false);
    first.leave();
    expect(await settled(secondReady)).toBe(true);
  });

  it('finds the batch before it even when that one entered after it', async () => {
    const turns = new SendTurns();
    const second = entered(turns, 'run-1', 2, 100);
    const first = turns.enter('run-1', 1);
    const secondReady = second.ready();
    expect(await settled(secondReady)).toBe(false);
    first.read(SEND_AHEAD_USERS);
    expect(await settled(secondReady)).toBe(true);
  });

  it('never holds batches of other runs, or a batch whose predecessor is not in this process', async () => {
    const turns = new SendTurns();
    entered(turns, 'run-1', 1, 100);
    expect(await settled(entered(turns, 'run-2', 2, 100).ready())).toBe(true);
    expect(await settled(entered(turns, 'run-1', 7, 100).ready())).toBe(true);
  });

  it('waits at most MAX_TURN_WAIT_MS, so a waiting batch is never timed out for silence', async () => {
    vi.useFakeTimers();
    const turns = new SendTurns();
    entered(turns, 'run-1', 1, 100);
    let ready = false;
    void entered(turns, 'run-1', 2, 100)
      .ready()
      .then(() => {
        ready = true;
      });
    await vi.advanceTimersByTimeAsync(MAX_TURN_WAIT_MS - 1);
    expect(ready).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(ready).toBe(true);
  });
});
