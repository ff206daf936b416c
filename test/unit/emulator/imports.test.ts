import { describe, expect, it } from 'vitest';
import { CsvSyntaxError, parseCsv } from '../../../emulator/resend/imports/csv.js';
import {
  createRowReader,
  ImportLayoutError,
} from '../../../emulator/resend/imports/row-mapping.js';

describe('parseCsv', () => {
  it('reads quoted fields, doubled quotes, CRLF and LF, a byte order mark, and drops blank lines', () => {
    expect(
      parseCsv('\uFEFFemail,name\r\n"a@example.com","A ""Al"" B"\n\nb@example.com,"x,y"\n,\n'),
    ).toEqual([
      ['email', 'name'],
      ['a@example.com', 'A "Al" B'],
      ['b@example.com', 'x,y'],
      ['', ''],
    ]);
  });

  it('keeps line breaks inside quotes and a lone carriage return inside a field', () => {
    expect(parseCsv('"two\nlines",x\ra')).toEqual([['two\nlines', 'x\ra']]);
  });

  it('reads a last row without a line end, and nothing from an empty file', () => {
    expect(parseCsv('a,b')).toEqual([['a', 'b']]);
    expect(parseCsv('a,')).toEqual([['a', '']]);
    expect(parseCsv('')).toEqual([]);
    expect(parseCsv('\n\r\n')).toEqual([]);
  });

  it('refuses an unterminated quoted field', () => {
    expect(() => parseCsv('email\n"a@example.com')).toThrow(CsvSyntaxError);
    expect(() => parseCsv('"abc')).toThrow('The CSV file has an unterminated quoted field.');
  });
});

describe('createRowReader', () => {
  describe('without a column map', () => {
    const read = createRowReader(['Email', ' First_Name ', 'last_name', 'UNSUBSCRIBED'], undefined);

    it('finds the usual columns in any case and maps a row to a contact write', () => {
      expect(read([' Ann@Example.com ', 'Ann', '', 'yes'])).toEqual({
        email: 'Ann@Example.com',
        firstName: 'Ann',
        lastName: null,
        unsubscribed: true,
      });
    });

    it.each([
      ['true', true],
      ['1', true],
      ['YES', true],
      [' false ', false],
      ['0', false],
      ['No', false],
    ])('reads unsubscribed %j as %s', (cell, unsubscribed) => {
      expect(read(['a@example.com', 'A', 'B', cell])?.unsubscribed).toBe(unsubscribed);
    });

    it('leaves unsubscribed alone when its cell is blank or missing', () => {
      expect(read(['a@example.com', 'A', 'B', ' '])).toEqual({
        email: 'a@example.com',
        firstName: 'A',
        lastName: 'B',
      });
      expect(read(['a@example.com'])).toEqual({
        email: 'a@example.com',
        firstName: null,
        lastName: null,
      });
    });

    it('fails rows with an invalid email or an unreadable unsubscribed', () => {
      expect(read(['not-an-email', 'A', 'B', ''])).toBeUndefined();
      expect(read(['', 'A', 'B', ''])).toBeUndefined();
      expect(read(['xxx+!@gmail.com', 'A', 'B', ''])).toBeUndefined();
      expect(read(['a@example.com', 'A', 'B', 'maybe'])).toBeUndefined();
    });

    it('reads only the email from a file that has only that column', () => {
      expect(createRowReader(['email', 'notes'], undefined)(['a@example.com', 'hi'])).toEqual({
        email: 'a@example.com',
      });
    });

    it('refuses a file without an email column', () => {
      expect(() => createRowReader(['mail', 'name'], undefined)).toThrow(
        new ImportLayoutError('The CSV file has no column named "email".'),
      );
    });
  });

  describe('with a column map', () => {
    const read = createRowReader(['Mail', 'Given', 'plan', 'age', 'vip'], {
      email: 'mail',
      first_name: 'given',
      properties: {
        plan: { column: 'plan' },
        age: { column: 'age', type: 'number' },
        vip: { column: 'VIP', type: 'boolean' },
      },
    });

    it('uses only the mapped columns and types the properties', () => {
      expect(read(['e@example.com', 'Eve', 'pro', '42', 'NO'])).toEqual({
        email: 'e@example.com',
        firstName: 'Eve',
        properties: { plan: 'pro', age: 42, vip: false },
      });
      expect(read(['e@example.com', 'Eve', '007', '-1.5', 'true'])?.properties).toEqual({
        plan: '007',
        age: -1.5,
        vip: true,
      });
    });

    it('leaves out properties whose cell is empty', () => {
      expect(read(['e@example.com', '', '', '', ''])).toEqual({
        email: 'e@example.com',
        firstName: null,
        properties: {},
      });
    });

    it.each([
      ['a number that is not one', ['e@example.com', 'Eve', 'pro', 'forty', 'no']],
      ['a blank number', ['e@example.com', 'Eve', 'pro', ' ', 'no']],
      ['an infinite number', ['e@example.com', 'Eve', 'pro', 'Infinity', 'no']],
      ['a boolean that is not one', ['e@example.com', 'Eve', 'pro', '1', 'sometimes']],
    ])('fails a row with %s', (_case, cells) => {
      expect(read(cells)).toBeUndefined();
    });

    it('refuses a map that names a column the file does not have', () => {
      expect(() => createRowReader(['email'], { first_name: 'fn' })).toThrow(
        'The CSV file has no column named "fn".',
      );
      expect(() =>
        createRowReader(['email'], { properties: { plan: { column: 'tier' } } }),
      ).toThrow('The CSV file has no column named "tier".');
      expect(() => createRowReader(['mail'], { first_name: 'mail' })).toThrow(ImportLayoutError);
    });
  });
});
