import { describe, expect, it } from 'vitest';
import { healthInWords } from '../../../console/src/health-words.js';
import { emptySyncForm, previewQuery, syncBody } from '../../../console/src/sync-form.js';
import {
  countsInWords,
  parseUserIds,
  phaseInWords,
  runKindInWords,
  scheduleSpecInWords,
} from '../../../console/src/words.js';

const progress = {
  total: 120,
  processed: 100,
  added: 80,
  updated: 5,
  skipped: 15,
  failed: 5,
  removed: 0,
  unsubscribed: 0,
};

describe("the console's words for a run", () => {
  it('says how the counts add up, with updated inside added and removals beside the sum', () => {
    expect(countsInWords(progress)).toEqual([
      '80 added + 15 skipped + 5 failed = 100 users processed of 120.',
      '5 updated: users added or already in the list whose fields changed (part of the 80 added).',
      '0 removed from the list.',
    ]);
    expect(countsInWords({ ...progress, removed: 3, unsubscribed: 1 })[2]).toBe(
      '3 removed from the list and 1 marked unsubscribed: contacts outside the users synced, beside the sum above.',
    );
  });

  it('names the phase of a run in progress, a waiting one and a finished one', () => {
    expect(phaseInWords({ status: 'running', progress })).toBe(
      'Sync running: 100 of 120 users processed.',
    );
    expect(
      phaseInWords({
        status: 'running',
        progress: { ...progress, total: 0, processed: 0 },
        dryRun: true,
      }),
    ).toBe('Dry run starting: reading the users.');
    expect(phaseInWords({ status: 'completed', progress })).toBe('Sync completed.');
    expect(phaseInWords({ status: 'paused', progress })).toBe(
      'Sync paused: it continues from where it stopped when resumed.',
    );
  });

  it('says what a run was asked and who started it', () => {
    expect(runKindInWords({ syncType: 'all', mode: 'mirror', trigger: 'api' })).toBe(
      'Mirror of all users, started through the API or this console',
    );
    expect(
      runKindInWords({ syncType: 'new', mode: 'add', trigger: 'schedule', scheduleId: 'nightly' }),
    ).toBe('Add new users, started by the schedule nightly');
  });

  it('describes a schedule by its intervals and cron expressions', () => {
    expect(scheduleSpecInWords({ every: ['6h'], cron: [] })).toBe('every 6h');
    expect(scheduleSpecInWords({ every: ['6h'], cron: ['0 6 * * 1'], timezone: 'UTC' })).toBe(
      'every 6h and cron "0 6 * * 1" (UTC)',
    );
  });
});

describe('pasted user ids', () => {
  it('splits on commas, semicolons and white space, once each, keeping their spelling', () => {
    expect(parseUserIds(' 0042, 7;7\n\tabc  \n')).toEqual(['0042', '7', 'abc']);
    expect(parseUserIds(' \n ')).toEqual([]);
  });
});

describe('the New sync form as a request body', () => {
  it('sends only what was chosen, so the API applies its own defaults', () => {
    expect(syncBody(emptySyncForm())).toEqual({ platform: 'resend', sync_type: 'all' });
  });

  it('sends every choice of a mirror into an existing list with tags and properties', () => {
    const body = syncBody({
      ...emptySyncForm(),
      target: 'existing',
      listId: ' seg_1 ',
      listName: 'ignored',
      filterActive: true,
      activeDays: '7',
      mode: 'mirror',
      maxRemovals: '20%',
      tags: 'news, , vip ',
      properties: [
        { key: 'plan', column: 'plan_name' },
        { key: '', column: '' },
      ],
    });
    expect(body).toEqual({
      platform: 'resend',
      sync_type: 'all',
      list_id: 'seg_1',
      filterActive: true,
      activeDays: 7,
      mode: 'mirror',
      max_removals: '20%',
      tags: ['news', 'vip'],
      properties: { plan: 'plan_name' },
    });
  });

  it('passes what is not a number on as typed, so the API names the field', () => {
    const body = syncBody({
      ...emptySyncForm(),
      syncType: 'specific',
      userIds: '1, 2 2',
      filterActive: true,
      activeDays: 'ten',
      mode: 'mirror',
      maxRemovals: '12',
    });
    expect(body).toMatchObject({ user_ids: ['1', '2'], activeDays: 'ten', max_removals: 12 });
  });

  it('previews the users of the filter', () => {
    expect(previewQuery(emptySyncForm())).toEqual({ filterActive: 'false' });
    expect(previewQuery({ ...emptySyncForm(), filterActive: true, activeDays: ' 14 ' })).toEqual({
      filterActive: 'true',
      activeDays: '14',
    });
  });
});

describe('health in words', () => {
  it('says what works and what needs attention, for each part', () => {
    const parts = healthInWords({
      success: true,
      checkedAt: '2026-12-01T10:00:00.000Z',
      database: { status: 'ok', message: '' },
      temporal: { status: 'unreachable', message: '' },
      platforms: [
        {
          platform: 'resend',
          configured: true,
          status: 'key_refused',
          reachable: true,
          keyAccepted: false,
          checkedAt: null,
          account: null,
          message: '',
          rateLimit: { learned: 10, learnedAt: null, heldUntil: null },
          webhooks: {
            configured: false,
            lastDeliveryAt: null,
            failingSince: null,
            lastFailure: null,
          },
        },
      ],
    });
    expect(parts.map((part) => [part.name, part.state])).toEqual([
      ['Database', 'working'],
      ['Temporal', 'needs attention'],
      ['Resend', 'needs attention'],
    ]);
    expect(parts[2]?.lines).toEqual([
      'Resend refuses the API key: syncs to it fail until the key is replaced.',
      'It allows 10 requests a second, and syncs stay within that.',
      'Webhooks are not set up: unsubscribes are learned when syncs read the contacts, not the moment they happen.',
    ]);
  });
});
