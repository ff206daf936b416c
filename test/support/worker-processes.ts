import { spawnWorkerProcess, type WorkerProcess } from '../../dev/worker-process.js';

type WorkerConfig = Parameters<typeof spawnWorkerProcess>[0];

/**
 * Worker processes of their own that a test starts and may SIGKILL; `stopAll` (for afterAll)
 * ends the ones still running and waits for every one to exit.
 */
export function killableWorkers() {
  const started: WorkerProcess[] = [];
  return {
    start(config: WorkerConfig): WorkerProcess {
      const worker = spawnWorkerProcess(config);
      started.push(worker);
      return worker;
    },
    async stopAll(): Promise<void> {
      for (const worker of started.splice(0)) {
        if (worker.child.exitCode === null && worker.child.signalCode === null) {
          worker.child.kill('SIGTERM');
        }
        await worker.exited;
      }
    },
  };
}
