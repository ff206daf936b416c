import { workflowInfo } from '@temporalio/workflow';

/**
 * The one rule for every loop of a run (batches, bulk chunks, leavers): stop starting steps in
 * this execution once it ran `maxSteps`, Temporal suggests continuing as new (the history grows
 * large), or a new build became current (the run moves there at its next checkpoint).
 */
export const timeToContinueAsNew = (stepsThisExecution: number, maxSteps: number): boolean =>
  stepsThisExecution >= maxSteps ||
  workflowInfo().continueAsNewSuggested ||
  workflowInfo().targetWorkerDeploymentVersionChanged;
