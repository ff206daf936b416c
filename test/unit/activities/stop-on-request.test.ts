import { Context } from '@temporalio/activity';
import { ActivityCancellationDetails } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { stopOnRequest } from '../../../activities/stop-request.js';

/**
 * A bulk chunk tells a stop the run asked for (the workflow cancelled it: it stops between two
 * batches, its requests going on) from the end of its attempt (its requests are aborted).
 */
async function cancelledWith(
  details: ActivityCancellationDetails,
  reason: 'CANCELLED' | 'TIMED_OUT',
): Promise<Record<'before' | 'after', { requested: boolean; aborted: boolean }>> {
  const env = new MockActivityEnvironment();
  return env.run(async () => {
    const stop = stopOnRequest(Context.current());
    const before = { requested: stop.requested(), aborted: stop.platformSignal.aborted };
    env.cancel(reason, details);
    return { before, after: { requested: stop.requested(), aborted: stop.platformSignal.aborted } };
  });
}

describe('a stop the run asked for', () => {
  it('is noted for the next batch boundary and leaves the requests going', async () => {
    const seen = await cancelledWith(
      new ActivityCancellationDetails({ cancelRequested: true }),
      'CANCELLED',
    );
    expect(seen).toEqual({
      before: { requested: false, aborted: false },
      after: { requested: true, aborted: false },
    });
  });

  it('is not a timeout, a shutdown or a pause from outside: those abort the requests', async () => {
    for (const details of [
      new ActivityCancellationDetails({ timedOut: true }),
      new ActivityCancellationDetails({ workerShutdown: true }),
      new ActivityCancellationDetails({ paused: true }),
    ]) {
      const seen = await cancelledWith(details, 'TIMED_OUT');
      expect(seen.after).toEqual({ requested: false, aborted: true });
    }
  });
});
