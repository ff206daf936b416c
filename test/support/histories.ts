import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { temporal } from '@temporalio/proto';

type History = temporal.api.history.v1.IHistory;

/**
 * Every execution of a run, oldest first: the latest run's history names the run it continued,
 * and so on back to the first.
 */
export async function exportRunHistories(client: Client, workflowId: string): Promise<History[]> {
  const histories: History[] = [];
  let runId: string | undefined;
  for (;;) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    histories.unshift(history);
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    runId = started?.continuedExecutionRunId || undefined;
    if (!runId) return histories;
  }
}

/** The JSON of the histories with every payload decoded, so its text can be searched. */
export function historyText(histories: History[]): string {
  const decode = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(decode);
    if (value && typeof value === 'object') {
      const entries = Object.entries(value).map(([key, inner]) => {
        if (key === 'data' && typeof inner === 'string') {
          return [key, Buffer.from(inner, 'base64').toString('utf8')];
        }
        return [key, decode(inner)];
      });
      return Object.fromEntries(entries);
    }
    return value;
  };
  return histories
    .map((history) => JSON.stringify(decode(JSON.parse(historyToJSON(history as never)))))
    .join('\n');
}
