import type { RequestLogEntry } from '../../../emulator/common/request-log.js';

/** Log entries grouped by the wall-clock second they arrived in (the rate limiter's windows). */
export function byWindow(entries: RequestLogEntry[]): Map<number, RequestLogEntry[]> {
  const windows = new Map<number, RequestLogEntry[]>();
  for (const entry of entries) {
    const second = Math.floor(Date.parse(entry.at) / 1000);
    windows.set(second, [...(windows.get(second) ?? []), entry]);
  }
  return windows;
}

/** Runs `work` 20 times (with the round number) and reports the median and slowest round. */
export async function timedRounds(
  label: string,
  work: (round: number) => Promise<unknown>,
): Promise<void> {
  const durations: number[] = [];
  for (let round = 0; round < 20; round += 1) {
    const started = performance.now();
    await work(round);
    durations.push(performance.now() - started);
  }
  durations.sort((a, b) => a - b);
  const median = durations[10]?.toFixed(1);
  console.log(`${label}: median ${median} ms, max ${durations[19]?.toFixed(1)} ms (20 rounds)`);
}
