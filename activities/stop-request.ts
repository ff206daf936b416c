import type { Context } from '@temporalio/activity';

/**
 * How an activity that stops at its own boundaries tells a stop the run asked for (the workflow
 * cancelled it: a pause or a cancellation of the run) from the end of its attempt (a timeout, the
 * worker shutting down, a pause from the Web UI): the first only sets `requested`, the others
 * abort `platformSignal` too, as they abort every activity's requests.
 */
export function stopOnRequest(context: Context): {
  requested: () => boolean;
  platformSignal: AbortSignal;
} {
  let requested = false;
  const attemptEnds = new AbortController();
  const onCancel = () => {
    if (context.cancellationDetails?.cancelRequested) requested = true;
    else attemptEnds.abort(context.cancellationSignal.reason);
  };
  if (context.cancellationSignal.aborted) onCancel();
  else context.cancellationSignal.addEventListener('abort', onCancel, { once: true });
  return { requested: () => requested, platformSignal: attemptEnds.signal };
}
