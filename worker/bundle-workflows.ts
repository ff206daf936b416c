import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

/** Writes the workflow bundle next to the build, so workers start without bundling. */
export async function writeWorkflowBundle(target: string): Promise<void> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(here, '..', 'workflows', 'index'),
  });
  await writeFile(target, code);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = process.argv[2] ?? path.join('dist', 'workflow-bundle.js');
  await writeWorkflowBundle(target);
  process.stdout.write(`workflow bundle written to ${target}\n`);
}
