import { ServiceError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import {
  newRunId,
  runStartOptions,
  runSummary,
  updateFailureVerdict,
} from '../../../client/sync-runs.js';
import type { SyncRequest } from '../../../common/sync.js';
import { RUN_ENDED_MESSAGE } from '../../../workflows/definitions.js';

const request = (overrides: Partial<SyncRequest> = {}): SyncRequest => ({
  platform: 'resend',
  listName: 'Weekly newsletter',
  syncType: 'all',
  tags: [],
  filterActive: false,
  activeDays: 30,
  trigger: 'api',
  ...overrides,
});

describe('newRunId', () => {
  it('names the kind and the second it was made, without milliseconds, then four hex digits', () => {
    const runId = newRunId('sync-users', new Date('2026-11-26T10:00:00.987Z'));
    expect(runId).toMatch(/^sync-users-2026-11-26T10-00-00Z-[0-9a-f]{8}$/);
  });

  it('keeps the kind as given, schedule ids included', () => {
    const runId = newRunId('weekly-newsletter-ab12', new Date('2027-01-05T23:59:59Z'));
    expect(runId).toMatch(/^weekly-newsletter-ab12-2027-01-05T23-59-59Z-[0-9a-f]{8}$/);
  });

  it('uses the current time by default', () => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const runId = newRunId('sync-all');
    const after = Date.now();
    const match = /^sync-all-(\d{4}-\d\d-\d\d)T(\d\d)-(\d\d)-(\d\d)Z-[0-9a-f]{8}$/.exec(runId);
    expect(match).not.toBeNull();
    const [, day, hours, minutes, seconds] = match ?? [];
    const at = Date.parse(`${day}T${hours}:${minutes}:${seconds}Z`);
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(after);
  });

  it('holds only characters the status route accepts in a run id', () => {
    expect(newRunId('sync-users', new Date('2026-11-26T10:00:00Z'))).toMatch(
      /^[A-Za-z0-9._:-]{1,200}$/,
    );
  });
});

describe('runSummary', () => {
  it.each<[string, Partial<SyncRequest>, string]>([
    [
      'all users into a new audience',
      {},
      'Sync all users into new resend audience "Weekly newsletter"',
    ],
    [
      'new active users into a list, with tags',
      {
        syncType: 'new',
        filterActive: true,
        activeDays: 7,
        listId: 'seg_123',
        tags: ['vip', 'beta'],
      },
      'Sync new users active in the last 7 days into list seg_123 (+2 tags)',
    ],
    [
      'all active users',
      { filterActive: true, activeDays: 365 },
      'Sync all users active in the last 365 days into new resend audience "Weekly newsletter"',
    ],
    [
      'given users, whatever the activity filter',
      { syncType: 'specific', userIds: ['1', '2', '3'], filterActive: true, listId: 'seg_9' },
      'Sync 3 given users into list seg_9',
    ],
    [
      'specific without ids (persisted by the first activity)',
      { syncType: 'specific' },
      'Sync 0 given users into new resend audience "Weekly newsletter"',
    ],
    [
      'one tag',
      { tags: ['vip'] },
      'Sync all users into new resend audience "Weekly newsletter" (+1 tags)',
    ],
  ])('describes %s', (_case, overrides, summary) => {
    expect(runSummary(request(overrides))).toBe(summary);
  });

  it('shortens a long audience name to 60 characters with an ellipsis', () => {
    expect(runSummary(request({ listName: 'n'.repeat(61) }))).toBe(
      `Sync all users into new resend audience "${'n'.repeat(59)}…"`,
    );
    expect(runSummary(request({ listName: 'n'.repeat(60) }))).toBe(
      `Sync all users into new resend audience "${'n'.repeat(60)}"`,
    );
  });

  it('shortens the whole line to 190 characters', () => {
    const summary = runSummary(request({ listId: 'l'.repeat(300), tags: ['vip'] }));
    expect(summary).toBe(`Sync all users into list ${'l'.repeat(164)}…`);
    expect(summary).toHaveLength(190);
  });

  it('keeps the line within 200 bytes and never cuts a character in half', () => {
    const accented = runSummary(request({ listName: 'ü'.repeat(60), tags: ['vip'] }));
    expect(Buffer.byteLength(accented)).toBeLessThanOrEqual(200);
    expect(accented).toBe(`Sync all users into new resend audience "${'ü'.repeat(60)}" (+1 tags)`);
    const long = runSummary(request({ listId: 'é'.repeat(300) }));
    expect(long).toBe(`Sync all users into list ${'é'.repeat(86)}…`);
    expect(Buffer.byteLength(long)).toBe(200);
    const emoji = runSummary(request({ listName: '😀'.repeat(61) }));
    expect(emoji).toBe(`Sync all users into new resend audience "${'😀'.repeat(39)}…`);
    expect(Buffer.byteLength(emoji)).toBeLessThanOrEqual(200);
  });
});

describe('runStartOptions', () => {
  it('carries ids, filters and counts only, with search attributes for the Web UI', () => {
    const options = runStartOptions(
      request({
        listId: 'seg_123',
        description: 'Everyone active this week',
        syncType: 'new',
        tags: ['vip'],
        filterActive: true,
        activeDays: 7,
        trigger: 'schedule',
        scheduleId: 'weekly',
      }),
      'audience-sync',
    );
    expect(options.taskQueue).toBe('audience-sync');
    expect(options.staticSummary).toBe(
      'Sync new users active in the last 7 days into list seg_123 (+1 tags)',
    );
    expect(options.memo).toEqual({
      audienceName: 'Weekly newsletter',
      audienceDescription: 'Everyone active this week',
      filters: { filterActive: true, activeDays: 7 },
      syncType: 'new',
      tags: ['vip'],
    });
    expect(
      options.typedSearchAttributes.map((pair) => [pair.key.name, pair.key.type, pair.value]),
    ).toEqual([
      ['SyncType', 'KEYWORD', 'new'],
      ['SyncPlatform', 'KEYWORD', 'resend'],
      ['SyncTrigger', 'KEYWORD', 'schedule'],
      ['SyncListId', 'KEYWORD', 'seg_123'],
    ]);
  });

  it('leaves out the list id and the description when there are none', () => {
    const options = runStartOptions(request(), 'queue-a');
    expect(options.memo).toEqual({
      audienceName: 'Weekly newsletter',
      filters: { filterActive: false, activeDays: 30 },
      syncType: 'all',
      tags: [],
    });
    expect(options.typedSearchAttributes.map((pair) => pair.key.name)).toEqual([
      'SyncType',
      'SyncPlatform',
      'SyncTrigger',
    ]);
    expect(options.args).toEqual([{ request: request() }]);
  });
});

describe('updateFailureVerdict', () => {
  const grpcError = (code: number) =>
    Object.assign(new Error('grpc'), { code, details: '', metadata: {} });

  it('is ended when the run is gone or its validator says it ended', () => {
    expect(updateFailureVerdict(new WorkflowNotFoundError('gone', 'run-1', undefined))).toBe(
      'ended',
    );
    const refused = new WorkflowUpdateFailedError(
      'Workflow Update failed',
      ApplicationFailure.create({ message: RUN_ENDED_MESSAGE }),
    );
    expect(updateFailureVerdict(refused)).toBe('ended');
  });

  it('tries again when the update was lost on the way: not processed, closed meanwhile, a failed workflow task', () => {
    const unprocessed = new WorkflowUpdateFailedError(
      'Workflow Update failed',
      ApplicationFailure.create({
        message: "Workflow Update is rejected because it wasn't processed by worker.",
      }),
    );
    expect(updateFailureVerdict(unprocessed)).toBe('retry');
    const notReady = new ServiceError('Workflow Update failed', { cause: grpcError(9) });
    expect(updateFailureVerdict(notReady)).toBe('retry');
  });

  it('throws anything else', () => {
    expect(
      updateFailureVerdict(new ServiceError('Workflow Update failed', { cause: grpcError(8) })),
    ).toBe('throw');
    expect(updateFailureVerdict(new Error('bug'))).toBe('throw');
  });
});
