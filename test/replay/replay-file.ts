/**
 * Replays run histories exported from Temporal against the workflow code in this checkout:
 *
 *   npx tsx test/replay/replay-file.ts <history.json>... [--workflow-id <runId>]
 *
 * A file is what `temporal workflow show -w <runId> --output json` prints, or the Web UI's
 * "Download" of the event history (the Encoded variant). Exits 1 when a history does not replay,
 * for example after a change to the commands a run issues that is not behind `patched()`.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { workflowsEntry } from '../../worker/worker.js';

const args = process.argv.slice(2);
const idAt = args.indexOf('--workflow-id');
const workflowId = idAt >= 0 ? args[idAt + 1] : undefined;
const files = idAt < 0 ? args : [...args.slice(0, idAt), ...args.slice(idAt + 2)];

if (files.length === 0 || (idAt >= 0 && !workflowId)) {
  process.stderr.write(
    'usage: npx tsx test/replay/replay-file.ts <history.json>... [--workflow-id <runId>]\n',
  );
  process.exit(2);
}

Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
const histories = await Promise.all(
  files.map(async (file) => {
    const json = JSON.parse(await readFile(file, 'utf8')) as {
      history?: unknown;
      events?: unknown;
    };
    // The server's HTTP API wraps the events in `history`; the CLI and the UI's download do not.
    return {
      file,
      workflowId: workflowId ?? path.basename(file, '.json'),
      history: historyFromJSON(json.history ?? json),
    };
  }),
);

let failed = 0;
const replay = Worker.runReplayHistories({ workflowsPath: workflowsEntry() }, histories);
let index = 0;
for await (const result of replay) {
  const file = histories[index]?.file ?? '?';
  index += 1;
  if (result.error) {
    failed += 1;
    process.stdout.write(`✗ ${file}: ${result.error.name}: ${result.error.message}\n`);
  } else {
    process.stdout.write(`✓ ${file} replays with the current workflow code\n`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
