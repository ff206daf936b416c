import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { EraseUsersWorkflow } from '../workflows/erase-users.js';

export const ERASURE_WORKFLOW_TYPE = 'EraseUsersWorkflow';

/** Starts the erasure recorded under `erasureId`; a start that exists already is left as it is. */
export async function startErasure(
  client: Client,
  taskQueue: string,
  erasureId: string,
  trigger: 'api' | 'reconciliation',
): Promise<void> {
  try {
    await client.workflow.start<typeof EraseUsersWorkflow>(ERASURE_WORKFLOW_TYPE, {
      taskQueue,
      workflowId: erasureId,
      args: [{ erasureId }],
      staticSummary: `Erasure ${erasureId} (${trigger})`,
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
}
