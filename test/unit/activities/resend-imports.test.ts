import { describe, expect, it } from 'vitest';
import type { BulkJobResult, ContactToSync } from '../../../activities/platforms/platform.js';
import { contactsCsv, createdRows } from '../../../activities/platforms/resend/imports.js';
import { csvCell } from '../../../common/csv.js';
import { parseCsv } from '../../../emulator/resend/imports/csv.js';

const contact = (userId: string, firstName: string | null = null): ContactToSync => ({
  userId,
  email: `${userId}@example.com`,
  firstName,
  lastName: null,
  properties: {},
});

const result = (
  created: number,
  rest: Partial<BulkJobResult['counts']> = {},
  status: BulkJobResult['status'] = 'completed',
): BulkJobResult => ({
  status,
  counts: { total: 3, created, updated: 0, skipped: 0, failed: 0, ...rest },
});

describe('the CSV of a Resend import', () => {
  it('quotes only cells that need it, and leaves empty names empty', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('Bob, Jr.')).toBe('"Bob, Jr."');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell(null)).toBe('');
  });

  it('reads back as the contacts it was built from', () => {
    const contacts: ContactToSync[] = [
      {
        userId: '1',
        email: 'a@example.com',
        firstName: 'Ann, "A"',
        lastName: 'Lee\r\nJr',
        properties: {},
      },
      { userId: '2', email: 'b@example.com', firstName: null, lastName: null, properties: {} },
    ];
    expect(parseCsv(contactsCsv(contacts))).toEqual([
      ['email', 'first_name', 'last_name'],
      ['a@example.com', 'Ann, "A"', 'Lee\r\nJr'],
      ['b@example.com', '', ''],
    ]);
  });
});

describe('which rows an ended import created', () => {
  const contacts = [contact('1'), contact('2'), contact('3')];

  it('all of them, when every row was created', () => {
    expect(createdRows(contacts, result(3), undefined)).toEqual(new Set(['1', '2', '3']));
  });

  it('none without knowing more, when some rows were not', () => {
    expect(createdRows(contacts, result(2, { failed: 1 }), undefined)).toEqual(new Set());
  });

  it('the newly known ones, when they are exactly as many as were created', () => {
    const known = new Set(['1@example.com', '3@example.com']);
    expect(createdRows(contacts, result(2, { failed: 1 }), known)).toEqual(new Set(['1', '3']));
  });

  it('none, when more are known than were created (a skipped one may be among them)', () => {
    const known = new Set(['1@example.com', '2@example.com', '3@example.com']);
    expect(createdRows(contacts, result(2, { skipped: 1 }), known)).toEqual(new Set());
  });

  it('none of a failed import, even with all rows counted as created', () => {
    expect(createdRows(contacts, result(3, {}, 'failed'), undefined)).toEqual(new Set());
  });
});
