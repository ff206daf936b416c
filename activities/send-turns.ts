/**
 * Two batches of a run in flight at once (see the workflow's BATCHES_IN_FLIGHT) would share the
 * rate limit evenly and end together, leaving the limit idle between them and the next pair. So
 * in one worker process they take turns: a batch prepares (reads, claims, look-ups) at once, but
 * starts sending only when the batch before it has at most SEND_AHEAD_USERS users left, all of
 * them as good as in flight. The limit is handed over instead of split.
 */
export const SEND_AHEAD_USERS = 32;

/**
 * A batch waits no longer for its turn: at low limits the batch before it takes long to get
 * there, and a batch that waits sends no heartbeat (it would be timed out). Sending side by
 * side then only splits the limit.
 */
export const MAX_TURN_WAIT_MS = 5_000;

export interface SendTurn {
  /** Resolves when this batch may send: the batch before it is nearly done, or not here. */
  ready(): Promise<void>;
  /** How many users the batch has, once read. */
  read(users: number): void;
  /** `count` more of this batch's users have their outcome. */
  progressed(count: number): void;
  /** The batch ended (or failed): the next one goes. */
  leave(): void;
}

interface Entry {
  nearlyDone: Promise<void>;
  release: () => void;
}

/** One per worker process: the batches of each run this process is running, by number. */
export class SendTurns {
  private readonly runs = new Map<string, Map<number, Entry>>();

  /**
   * Called as the batch's activity starts, before anything is awaited: the batch beside it
   * looks for this one when it is ready to send, and must find it even if this one reads slower.
   */
  enter(runId: string, batchNo: number): SendTurn {
    const batches = this.runs.get(runId) ?? new Map<number, Entry>();
    this.runs.set(runId, batches);
    let release = () => {};
    const nearlyDone = new Promise<void>((resolve) => {
      release = resolve;
    });
    const entry: Entry = { nearlyDone, release };
    batches.set(batchNo, entry);
    let remaining = Number.POSITIVE_INFINITY;
    return {
      ready: async () => {
        const before = batches.get(batchNo - 1);
        if (!before) return;
        let timer: NodeJS.Timeout | undefined;
        const waited = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, MAX_TURN_WAIT_MS);
        });
        await Promise.race([before.nearlyDone, waited]);
        clearTimeout(timer);
      },
      read: (users) => {
        remaining = users;
        if (remaining <= SEND_AHEAD_USERS) release();
      },
      progressed: (count) => {
        remaining -= count;
        if (remaining <= SEND_AHEAD_USERS) release();
      },
      leave: () => {
        release();
        if (batches.get(batchNo) === entry) batches.delete(batchNo);
        if (batches.size === 0) this.runs.delete(runId);
      },
    };
  }
}
