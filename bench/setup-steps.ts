import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { runHistories } from '../client/histories.js';
import { round } from './report.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const secondsOf = (event: HistoryEvent | undefined): number => {
  const time = event?.eventTime;
  return time ? Number(time.seconds ?? 0) + (time.nanos ?? 0) / 1e9 : Number.NaN;
};

/**
 * Where a run's time before its first batch went, from its first execution's history: each
 * activity up to the first `processBatch`, as `name: scheduled at +s, took s` (seconds from the
 * API call), and when the first batch started. Temporal's own time (a task waiting for the
 * worker, a workflow task) is what lies between one step's end and the next one's start.
 */
export async function setupSteps(
  client: Client,
  runId: string,
  startedAtMs: number,
): Promise<Record<string, string>> {
  const [first] = await runHistories(client, runId);
  const events = first?.events ?? [];
  const byId = new Map(events.map((event) => [Number(event.eventId), event]));
  const since = (event: HistoryEvent | undefined) =>
    round(secondsOf(event) - startedAtMs / 1000, 3);
  const steps: Record<string, string> = { workflowStarted: `+${since(events[0])}` };
  for (const event of events) {
    const name = event.activityTaskScheduledEventAttributes?.activityType?.name;
    if (!name) continue;
    const completed = events.find(
      (other) =>
        Number(other.activityTaskCompletedEventAttributes?.scheduledEventId) ===
        Number(event.eventId),
    );
    const startedId = Number(completed?.activityTaskCompletedEventAttributes?.startedEventId);
    const started = byId.get(startedId);
    if (name === 'processBatch') {
      steps.firstBatchStarted = `+${since(started)}`;
      break;
    }
    steps[name] =
      `scheduled +${since(event)}, started +${since(started)}, took ${round(secondsOf(completed) - secondsOf(started), 3)}`;
  }
  return steps;
}
