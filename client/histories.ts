import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

export type History = temporal.api.history.v1.IHistory;

/**
 * Every execution of a run, oldest first. Each continued-as-new execution names the one before
 * it, so the chain is walked back from the latest.
 */
export async function runHistories(client: Client, runId: string): Promise<History[]> {
  const histories: History[] = [];
  let executionId: string | undefined;
  for (;;) {
    const history = await client.workflow.getHandle(runId, executionId).fetchHistory();
    histories.unshift(history);
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    executionId = started?.continuedExecutionRunId || undefined;
    if (!executionId) return histories;
  }
}
