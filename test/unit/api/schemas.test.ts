import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  previewQuerySchema,
  runIdParamsSchema,
  syncBodySchema,
  syncUsersBodySchema,
} from '../../../api/schemas.js';

const DAYS = 'must be a whole number from 1 to 3650';

/** Each issue as `path: message` (unknown keys after the path), in zod's order. */
function issuesOf(schema: z.ZodType, input: unknown): string[] {
  const result = schema.safeParse(input);
  if (result.success) throw new Error(`accepted ${JSON.stringify(input)}`);
  return result.error.issues.map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? ` [${issue.keys.join(', ')}]` : '';
    return `${issue.path.join('.') || '(root)'}${keys}: ${issue.message}`;
  });
}

describe('the preview query', () => {
  it('defaults to everyone with a 30-day window', () => {
    expect(previewQuerySchema.parse({})).toEqual({ filterActive: false, activeDays: 30 });
  });

  it.each([
    ['true', true],
    ['1', true],
    ['false', false],
    ['0', false],
  ])('reads filterActive=%s as %s', (value, expected) => {
    expect(previewQuerySchema.parse({ filterActive: value })).toEqual({
      filterActive: expected,
      activeDays: 30,
    });
  });

  it.each(['yes', 'TRUE', '', 'on'])('refuses filterActive=%j', (value) => {
    expect(issuesOf(previewQuerySchema, { filterActive: value })).toEqual([
      'filterActive: must be true, false, 1 or 0',
    ]);
  });

  it.each([
    ['1', 1],
    ['3650', 3650],
    ['0007', 7],
  ])('reads activeDays=%s as %i', (value, expected) => {
    expect(previewQuerySchema.parse({ filterActive: 'true', activeDays: value })).toEqual({
      filterActive: true,
      activeDays: expected,
    });
  });

  it.each([['0'], ['3651'], ['9999'], ['12345'], ['2.5'], ['-1'], ['abc'], [''], [['7', '8']]])(
    'refuses activeDays=%j',
    (value) => {
      expect(issuesOf(previewQuerySchema, { activeDays: value })).toEqual([`activeDays: ${DAYS}`]);
    },
  );

  it('ignores query parameters it does not know', () => {
    expect(previewQuerySchema.parse({ utm_source: 'newsletter' })).toEqual({
      filterActive: false,
      activeDays: 30,
    });
  });
});

describe('the POST /sync-users body', () => {
  it('defaults to everyone with a 30-day window and no name', () => {
    expect(syncUsersBodySchema.parse({})).toEqual({ filterActive: false, activeDays: 30 });
  });

  it('trims the audience name and keeps the description as sent', () => {
    expect(
      syncUsersBodySchema.parse({
        audienceName: '  Weekly  ',
        audienceDescription: ' Everyone active this week ',
        filterActive: true,
        activeDays: 7,
      }),
    ).toEqual({
      audienceName: 'Weekly',
      audienceDescription: ' Everyone active this week ',
      filterActive: true,
      activeDays: 7,
    });
  });

  it('accepts activeDays 1 and 3650, names of 120 and descriptions of 1000 characters', () => {
    for (const activeDays of [1, 3650]) {
      expect(syncUsersBodySchema.parse({ activeDays }).activeDays).toBe(activeDays);
    }
    expect(syncUsersBodySchema.parse({ audienceName: 'x'.repeat(120) }).audienceName).toBe(
      'x'.repeat(120),
    );
    expect(
      syncUsersBodySchema.parse({ audienceDescription: 'x'.repeat(1000) }).audienceDescription,
    ).toBe('x'.repeat(1000));
  });

  it.each<[Record<string, unknown>, string]>([
    [{ activeDays: 0 }, `activeDays: ${DAYS}`],
    [{ activeDays: 3651 }, `activeDays: ${DAYS}`],
    [{ activeDays: 1.5 }, `activeDays: ${DAYS}`],
    [{ activeDays: '30' }, `activeDays: ${DAYS}`],
    [{ filterActive: 'true' }, 'filterActive: must be true or false'],
    [{ filterActive: 1 }, 'filterActive: must be true or false'],
    [{ audienceName: '' }, 'audienceName: must be 1 to 120 characters'],
    [{ audienceName: '   ' }, 'audienceName: must be 1 to 120 characters'],
    [{ audienceName: 'x'.repeat(121) }, 'audienceName: must be 1 to 120 characters'],
    [{ audienceName: 42 }, 'audienceName: must be a string'],
    [
      { audienceDescription: 'x'.repeat(1001) },
      'audienceDescription: must be at most 1000 characters',
    ],
  ])('refuses %j', (body, issue) => {
    expect(issuesOf(syncUsersBodySchema, body)).toEqual([issue]);
  });

  it('refuses unknown fields, naming each, beside the other problems', () => {
    expect(
      issuesOf(syncUsersBodySchema, { audience: 'typo', filterActive: 'true', active_days: 7 }),
    ).toEqual([
      'filterActive: must be true or false',
      '(root) [audience, active_days]: Unrecognized keys: "audience", "active_days"',
    ]);
  });
});

describe('the POST /sync body', () => {
  it('needs only the platform, and defaults to all users into a new list', () => {
    expect(syncBodySchema.parse({ platform: 'resend' })).toEqual({
      platform: 'resend',
      sync_type: 'all',
      filterActive: false,
      activeDays: 30,
      mode: 'add',
    });
  });

  it('leaves the choice of platform to the route', () => {
    expect(syncBodySchema.parse({ platform: 'mailchimp' }).platform).toBe('mailchimp');
    expect(issuesOf(syncBodySchema, {})).toEqual(['platform: is required: "resend" or "loops"']);
  });

  it('reads every field, trimming names and turning user ids into strings', () => {
    expect(
      syncBodySchema.parse({
        platform: 'resend',
        list_id: ' 3f2b6f9e-0000-4000-8000-000000000000 ',
        sync_type: 'specific',
        user_ids: [' 42 ', 7, 'user-9'],
        tags: [' vip ', 'newsletter'],
        filterActive: true,
        activeDays: 90,
      }),
    ).toEqual({
      platform: 'resend',
      list_id: '3f2b6f9e-0000-4000-8000-000000000000',
      sync_type: 'specific',
      user_ids: ['42', '7', 'user-9'],
      tags: ['vip', 'newsletter'],
      mode: 'add',
      filterActive: true,
      activeDays: 90,
    });
  });

  it.each(['all', 'new'] as const)('accepts sync_type %s without user ids', (syncType) => {
    expect(syncBodySchema.parse({ platform: 'resend', sync_type: syncType }).sync_type).toBe(
      syncType,
    );
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    [
      'specific without ids',
      { sync_type: 'specific' },
      ['user_ids: is required and must not be empty when sync_type is specific'],
    ],
    [
      'specific with no ids',
      { sync_type: 'specific', user_ids: [] },
      ['user_ids: is required and must not be empty when sync_type is specific'],
    ],
    [
      'ids without specific',
      { user_ids: ['1'] },
      ['user_ids: is only used when sync_type is specific'],
    ],
    [
      'ids with sync_type new',
      { sync_type: 'new', user_ids: ['1'] },
      ['user_ids: is only used when sync_type is specific'],
    ],
    [
      'a fractional user id',
      { sync_type: 'specific', user_ids: ['1', 1.5] },
      ['user_ids.1: must be a user id (a string or an integer)'],
    ],
    [
      'a user id that is an object',
      { sync_type: 'specific', user_ids: [{ id: 1 }] },
      ['user_ids.0: must be a user id (a string or an integer)'],
    ],
    [
      '10,001 user ids',
      { sync_type: 'specific', user_ids: Array.from({ length: 10_001 }, (_, i) => i) },
      ['user_ids: must have at most 10000 ids'],
    ],
    [
      'an unknown sync type',
      { sync_type: 'sometimes' },
      ['sync_type: must be one of all, new, specific'],
    ],
    [
      '21 tags',
      { tags: Array.from({ length: 21 }, (_, i) => `t${i}`) },
      ['tags: must have at most 20 tags'],
    ],
    [
      'a 51-character tag and a blank one',
      { tags: ['ok', 'x'.repeat(51), '  '] },
      ['tags.1: must be 1 to 50 characters', 'tags.2: must be 1 to 50 characters'],
    ],
    ['tags as a string', { tags: 'vip' }, ['tags: must be a list of names']],
    [
      'a blank list id',
      { list_id: '  ' },
      ['list_id: must be a list id: 1 to 200 letters, digits, dots, colons, dashes or underscores'],
    ],
    [
      'a 201-character list id',
      { list_id: 'x'.repeat(201) },
      ['list_id: must be a list id: 1 to 200 letters, digits, dots, colons, dashes or underscores'],
    ],
    [
      'a list id that would change the platform request path',
      { list_id: '3f2b6f9e-0000-4000-8000-000000000000/../contacts' },
      ['list_id: must be a list id: 1 to 200 letters, digits, dots, colons, dashes or underscores'],
    ],
    [
      'a list id that would end the platform request path',
      { list_id: '#segments' },
      ['list_id: must be a list id: 1 to 200 letters, digits, dots, colons, dashes or underscores'],
    ],
    [
      'a 121-character list name',
      { list_name: 'x'.repeat(121) },
      ['list_name: must be 1 to 120 characters'],
    ],
    [
      'a list id and a list name',
      { list_id: '3f2b6f9e-0000-4000-8000-000000000000', list_name: 'b' },
      ['list_name: names a new list; leave it out when list_id is given'],
    ],
    [
      'mirror with sync_type new',
      { mode: 'mirror', sync_type: 'new' },
      ['mode: mirror needs sync_type all'],
    ],
    ['an unknown mode', { mode: 'delete' }, ['mode: must be add or mirror']],
    [
      'max_removals without mirror',
      { max_removals: 10 },
      ['max_removals: is only used when mode is mirror'],
    ],
    ...['101%', '-1', '5.5%', 'ten', '20 %'].map(
      (value): [string, Record<string, unknown>, string[]] => [
        `max_removals ${value}`,
        { mode: 'mirror', max_removals: value },
        [
          'max_removals: must be a whole number of contacts (0 to 10000000) or a share of the list like "20%" (0% to 100%)',
        ],
      ],
    ),
    [
      'unknown fields',
      { listId: 'a', dryRun: true },
      ['(root) [listId, dryRun]: Unrecognized keys: "listId", "dryRun"'],
    ],
  ])('refuses %s', (_case, body, issues) => {
    expect(issuesOf(syncBodySchema, { platform: 'resend', ...body })).toEqual(issues);
  });

  it('takes dry_run as a boolean, absent unless sent (so bodies without it hash as before)', () => {
    expect(syncBodySchema.parse({ platform: 'resend' })).not.toHaveProperty('dry_run');
    expect(syncBodySchema.parse({ platform: 'resend', dry_run: true }).dry_run).toBe(true);
    expect(
      syncBodySchema.parse({ platform: 'resend', mode: 'mirror', dry_run: false }),
    ).toMatchObject({ mode: 'mirror', dry_run: false });
    expect(issuesOf(syncBodySchema, { platform: 'resend', dry_run: 'yes' })).toEqual([
      'dry_run: must be true or false',
    ]);
    expect(syncUsersBodySchema.parse({ dry_run: true })).toEqual({
      filterActive: false,
      activeDays: 30,
      dry_run: true,
    });
    expect(issuesOf(syncUsersBodySchema, { dry_run: 1 })).toEqual([
      'dry_run: must be true or false',
    ]);
  });

  it('reads mirror runs with their removal limit', () => {
    for (const max_removals of [0, 250, '0%', '20%', '100%']) {
      expect(
        syncBodySchema.parse({ platform: 'resend', mode: 'mirror', max_removals }),
      ).toMatchObject({ mode: 'mirror', sync_type: 'all', max_removals });
    }
  });

  it('accepts 20 tags of 50 characters and 10,000 user ids', () => {
    const tags = Array.from({ length: 20 }, (_, i) => `${i}`.padStart(50, 't'));
    expect(syncBodySchema.parse({ platform: 'resend', tags }).tags).toEqual(tags);
    const ids = Array.from({ length: 10_000 }, (_, i) => i);
    expect(
      syncBodySchema.parse({ platform: 'resend', sync_type: 'specific', user_ids: ids }).user_ids,
    ).toEqual(ids.map(String));
  });

  it('refuses an empty user id by its place in the list', () => {
    const result = syncBodySchema.safeParse({
      platform: 'resend',
      sync_type: 'specific',
      user_ids: ['1', ''],
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path)).toEqual([['user_ids', 1]]);
  });
});

describe('the run id in a path', () => {
  it.each([
    'sync-users-2026-11-26T10-00-00Z-ab12',
    'weekly-newsletter_ab12-2026:1.x',
    'x'.repeat(200),
  ])('accepts %s', (runId) => {
    expect(runIdParamsSchema.parse({ runId })).toEqual({ runId });
  });

  it.each(['', 'a b', 'run/1', 'x'.repeat(201), 'run%20id'])('refuses %j', (runId) => {
    expect(issuesOf(runIdParamsSchema, { runId })).toEqual(['runId: is not a run id']);
  });
});
