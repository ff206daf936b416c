import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { watchInvocation } from './invocation-watch.js';
import { OWN_PROCESS_GROUP, STARTED_AT } from './supervisor-env.js';

/**
 * `npm run dev`. A terminal sends Ctrl-C to every process of its foreground group: Postgres and
 * the Temporal dev server would stop at once, under a worker still finishing its batch. So the
 * stack runs in a process group of its own (dev/stack-process.ts), which stops them itself, in
 * order; this process only relays signals and exits with the stack's exit code.
 */
const startedAt = Date.now();
const self = fileURLToPath(import.meta.url);
const extension = path.extname(self);
const entry = path.join(path.dirname(self), `stack-process${extension}`);
// Run from sources (npm run dev) the child needs the TypeScript loader too.
const loader = extension === '.ts' ? ['--import', import.meta.resolve('tsx')] : [];

const stack = spawn(process.execPath, [...loader, entry], {
  detached: true,
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  env: { ...process.env, [OWN_PROCESS_GROUP]: '1', [STARTED_AT]: String(startedAt) },
});

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    stack.kill(signal);
  });
}
// `npm run dev` killed outright (SIGKILL) passes nothing on, and its shell and the TypeScript
// runner live on without it: the stack stops as on Ctrl-C, so no port stays taken.
watchInvocation(() => stack.kill('SIGTERM'));

stack.on('error', (error) => {
  process.stderr.write(`could not start the local stack: ${error.message}\n`);
  process.exit(1);
});
stack.on('exit', (code, signal) => {
  process.exit(code ?? 128 + (signal ? constants.signals[signal] : 0));
});
