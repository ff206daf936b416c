import { describe, expect, it } from 'vitest';
import { comparedAsType, idOfType, idsOfType } from '../../../db/user-ids.js';

describe('idOfType: ids as the application writes them, read as the id column reads them', () => {
  it('reads integers in decimal, leading zeros and sign included, within the type', () => {
    expect(idOfType('integer', '0042')).toBe('42');
    expect(idOfType('integer', '+42')).toBe('42');
    expect(idOfType('integer', '-0')).toBe('0');
    expect(idOfType('integer', '2147483647')).toBe('2147483647');
    expect(idOfType('integer', '-2147483648')).toBe('-2147483648');
    expect(idOfType('smallint', '32767')).toBe('32767');
    expect(idOfType('bigint', '0009223372036854775807')).toBe('9223372036854775807');
  });

  it('names nobody with an integer the type cannot hold, or that is not written in decimal', () => {
    for (const [type, id] of [
      ['integer', '99999999999'],
      ['integer', '2147483648'],
      ['smallint', '32768'],
      ['bigint', '9223372036854775808'],
      ['integer', '0x2A'],
      ['integer', '4_2'],
      ['integer', '4.0'],
      ['integer', ' 42'],
      ['integer', ''],
      ['integer', 'no-such-user'],
      ['bigint', `1${'0'.repeat(40)}`],
    ] as const) {
      expect(idOfType(type, id), `${type} ${id}`).toBeNull();
    }
  });

  it('reads uuids in either case, hyphenated or not, braced or not, as Postgres spells them', () => {
    const spelled = '0b9e6a3c-1f2d-4e5f-8a9b-0c1d2e3f4a5b';
    for (const id of [
      spelled,
      spelled.toUpperCase(),
      spelled.replaceAll('-', ''),
      `{${spelled.toUpperCase()}}`,
    ]) {
      expect(idOfType('uuid', id), id).toBe(spelled);
    }
    for (const id of ['0b9e6a3c-1f2d4e5f-8a9b-0c1d2e3f4a5b', `{${spelled}`, `${spelled}0`, '42']) {
      expect(idOfType('uuid', id), id).toBeNull();
    }
  });

  it('leaves ids of any other type as written, compared as text', () => {
    expect(idOfType('text', '0042')).toBe('0042');
    expect(idOfType('character varying(50)', 'User-42')).toBe('User-42');
    expect(comparedAsType('text')).toBe(false);
    expect(comparedAsType('numeric')).toBe(false);
    expect(comparedAsType('integer')).toBe(true);
    expect(comparedAsType('uuid')).toBe(true);
  });

  it('idsOfType keeps only the ids a value of the type is written as', () => {
    expect(idsOfType('integer', ['0042', '99999999999', 'x', '7'])).toEqual(['42', '7']);
  });
});
