import type { Logger } from '../telemetry/logger.js';

interface Step {
  name: string;
  stop: () => Promise<void>;
  timeoutMs: number;
}

const DEFAULT_STEP_TIMEOUT_MS = 15_000;

/**
 * What the local stack started, stopped in reverse order. A step that fails or hangs is logged
 * and passed over, so one stuck component never keeps the others (and their ports) alive.
 */
export class Teardown {
  private readonly steps: Step[] = [];

  add(name: string, stop: () => Promise<void>, timeoutMs = DEFAULT_STEP_TIMEOUT_MS): void {
    this.steps.push({ name, stop, timeoutMs });
  }

  /** Runs every step, newest first; resolves true when all of them stopped cleanly. */
  async run(logger: Logger): Promise<boolean> {
    let clean = true;
    for (let step = this.steps.pop(); step; step = this.steps.pop()) {
      const started = Date.now();
      try {
        await withTimeout(step.stop(), step.timeoutMs);
        logger.info({ component: step.name, ms: Date.now() - started }, 'stopped');
      } catch (error) {
        clean = false;
        logger.error(
          { component: step.name, err: error instanceof Error ? error.message : String(error) },
          'did not stop cleanly',
        );
      }
    }
    return clean;
  }
}

async function withTimeout(work: Promise<void>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
