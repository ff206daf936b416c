import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEND_AHEAD_USERS } from '../../activities/send-turns.js';
import { runHistories } from '../../client/histories.js';
import { BATCHES_IN_FLIGHT } from '../../workflows/sync-users.js';
import {
  type AppStack,
  emulatedContacts,
  requestLog,
  startAppStack,
} from '../support/app-stack.js';

const BATCH_SIZE = 50;
const USERS = 230;
let stack: AppStack;

beforeAll(async () => {
  stack = await startAppStack({
    users: USERS,
    mix: 'eligible',
    emulator: { rateLimit: 25 },
    worker: { SYNC_BATCH_SIZE: String(BATCH_SIZE), RESEND_BULK: 'off' },
  });
});

afterAll(async () => {
  await stack?.stop();
});

interface BatchActivity {
  /** Which execution of the run (it may continue as new between batches). */
  execution: number;
  batchNo: number;
  cursor: string | null;
  upTo: string | null;
  scheduledEventId: number;
  completedEventId?: number;
}

/** The run's processBatch activities, with their inputs and when they were scheduled and ended. */
async function batchActivities(runId: string): Promise<BatchActivity[]> {
  const found: BatchActivity[] = [];
  for (const [execution, history] of (await runHistories(stack.client, runId)).entries()) {
    found.push(...batchActivitiesOf(execution, history.events ?? []));
  }
  return found.sort((a, b) => a.batchNo - b.batchNo);
}

function batchActivitiesOf(
  execution: number,
  events: Awaited<ReturnType<typeof runHistories>>[number]['events'] & object,
): BatchActivity[] {
  const batches = new Map<number, BatchActivity>();
  for (const event of events) {
    const id = Number(event.eventId);
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name === 'processBatch') {
      const data = scheduled.input?.payloads?.[0]?.data;
      const input = JSON.parse(Buffer.from(data ?? []).toString('utf8'));
      batches.set(id, {
        execution,
        batchNo: input.batchNo,
        cursor: input.cursor,
        upTo: input.upTo ?? null,
        scheduledEventId: id,
      });
    }
    const completed = event.activityTaskCompletedEventAttributes;
    const batch = completed ? batches.get(Number(completed.scheduledEventId)) : undefined;
    if (batch) batch.completedEventId = id;
  }
  return [...batches.values()];
}

describe('a run of several batches', () => {
  it('plans each batch ahead, runs the next beside the one finishing, and sends them in turn', async () => {
    const answer = await stack.call('POST', '/api/marketing/sync-users', {
      audienceName: 'Overlapping batches',
    });
    expect(answer.status).toBe(200);
    expect(answer.body.contactsAdded).toBe(USERS);
    const users = await stack.db.sql<{ id: string; email: string }[]>`
      select u.id::text as id, lower(u.email) as email from users u order by u.id`;

    // Contiguous planned ranges of BATCH_SIZE users, the last one open-ended.
    const batches = await batchActivities(answer.body.runId);
    const ends = users.filter((_, index) => (index + 1) % BATCH_SIZE === 0).map((user) => user.id);
    expect(batches.map(({ batchNo, cursor, upTo }) => ({ batchNo, cursor, upTo }))).toEqual(
      [null, ...ends].map((cursor, index) => ({
        batchNo: index + 1,
        cursor,
        upTo: ends[index] ?? null,
      })),
    );
    // Within an execution (the test server suggests continuing as new early), each batch after
    // the first was scheduled before the one in front of it completed, and never more than
    // BATCHES_IN_FLIGHT were in flight.
    const sameExecution = (a: BatchActivity | undefined, b: BatchActivity) =>
      a !== undefined && a.execution === b.execution;
    let overlapping = 0;
    for (const [index, batch] of batches.entries()) {
      const before = batches[index - 1];
      if (sameExecution(before, batch)) {
        expect(batch.scheduledEventId).toBeLessThan(before?.completedEventId ?? 0);
        overlapping += 1;
      }
      const ahead = batches[index - BATCHES_IN_FLIGHT];
      if (sameExecution(ahead, batch)) {
        expect(batch.scheduledEventId).toBeGreaterThan(ahead?.completedEventId ?? 0);
      }
    }
    expect(overlapping).toBeGreaterThan(0);

    // Bulk creation is off: the run says so, and asked no bulk chunk to find it out.
    const status = await stack.call(
      'GET',
      `/api/marketing/sync-users/${encodeURIComponent(answer.body.runId)}`,
    );
    expect(status.body.bulk).toEqual({
      mode: 'per_contact',
      message: 'Bulk creation on resend is switched off or not offered',
    });
    const activities = (await runHistories(stack.client, answer.body.runId)).flatMap((history) =>
      (history.events ?? []).flatMap(
        (event) => event.activityTaskScheduledEventAttributes?.activityType?.name ?? [],
      ),
    );
    expect(new Set(activities)).toEqual(
      new Set(['beginRun', 'prepareRun', 'preparePlatform', 'processBatch', 'finishRun']),
    );

    // Everyone once in the list; each batch's first contact write came once the batch before it
    // had at most SEND_AHEAD_USERS left to write.
    const contacts = await emulatedContacts(stack.emulator);
    expect(
      contacts
        .filter((contact) => contact.segment_ids.includes(answer.body.audience.id))
        .map((contact) => contact.email.toLowerCase())
        .sort(),
    ).toEqual(users.map((user) => user.email).sort());
    const batchOf = new Map(
      users.map((user, index) => [user.email, Math.floor(index / BATCH_SIZE)]),
    );
    const writes = (await requestLog(stack.emulator, '&method=POST&path_prefix=/contacts'))
      .filter((entry) => entry.path === '/contacts' && entry.outcome === 'ok')
      .map((entry) => batchOf.get(entry.key?.toLowerCase() ?? '') ?? -1);
    expect(writes).toHaveLength(USERS);
    for (let batch = 1; batch * BATCH_SIZE < USERS; batch += 1) {
      const firstOfBatch = writes.indexOf(batch);
      const doneBefore = writes.slice(0, firstOfBatch).filter((b) => b === batch - 1).length;
      expect(doneBefore).toBeGreaterThanOrEqual(BATCH_SIZE - SEND_AHEAD_USERS);
    }
  });
});
