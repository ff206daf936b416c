/**
 * At most one heartbeat per `everyMs`. A batch beats on every outcome and every platform answer,
 * several times per user, and each beat costs the worker's main thread a payload encoding and a
 * native call (7% of its CPU at 50 requests per second); Temporal sends the server at most one
 * per most of the heartbeat timeout anyway. Dropping beats keeps what matters: no beat without
 * progress, and none at all once a batch's requests hang.
 */
export function throttledHeartbeat(
  beat: () => void,
  everyMs: number,
  now: () => number = Date.now,
): () => void {
  let last = Number.NEGATIVE_INFINITY;
  return () => {
    const at = now();
    if (at - last < everyMs) return;
    last = at;
    beat();
  };
}

/** Far below the shortest heartbeat timeout of a batch activity (15 s). */
export const BATCH_HEARTBEAT_EVERY_MS = 500;

/** How often work that reports no progress of its own (one long statement, a lock wait) beats. */
export const STATEMENT_HEARTBEAT_EVERY_MS = 5000;

/**
 * Runs `work`, beating every `everyMs` until it settles: for work that cannot beat on progress
 * (long statements, waiting for a lock), so Temporal hears from the attempt while it runs.
 */
export async function beatingWhile<T>(
  beat: () => void,
  everyMs: number,
  work: () => Promise<T>,
): Promise<T> {
  const alive = setInterval(beat, everyMs);
  try {
    return await work();
  } finally {
    clearInterval(alive);
  }
}
