import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger, type Logger } from '@temporalio/worker';
import { workflowsEntry } from './worker.js';

/** Writes the workflow bundle next to the build, so workers start without bundling. */
export async function writeWorkflowBundle(
  target: string,
  logger: Logger = new DefaultLogger('WARN'),
): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: workflowsEntry(), logger });
  await writeFile(target, code);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = process.argv[2] ?? path.join('dist', 'workflow-bundle.js');
  await writeWorkflowBundle(target);
  process.stdout.write(`workflow bundle written to ${target}\n`);
}
