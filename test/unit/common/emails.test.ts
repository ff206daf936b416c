import { describe, expect, it } from 'vitest';
import { emailHash, normaliseEmail } from '../../../common/emails.js';
import { VALID_EMAIL_PATTERN } from '../../../db/users-contract.js';

const valid = (email: string) => new RegExp(VALID_EMAIL_PATTERN).test(normaliseEmail(email));

describe('email normalisation', () => {
  it('trims spaces and lowercases ASCII letters, and nothing else', () => {
    expect(normaliseEmail('  Ann.Lee@Example.COM ')).toBe('ann.lee@example.com');
    // As Postgres' btrim(): only spaces are trimmed.
    expect(normaliseEmail('\tann@example.com\n')).toBe('\tann@example.com\n');
    // Non-ASCII letters keep their case: U+212A KELVIN SIGN, U+0130 and U+00C9 fold elsewhere.
    expect(normaliseEmail('\u212Aate@example.com')).toBe('\u212Aate@example.com');
    expect(normaliseEmail('\u0130VY@EXAMPLE.COM')).toBe('\u0130vy@example.com');
    expect(normaliseEmail('\u00C9LISE@example.com')).toBe('\u00C9lise@example.com');
  });

  it('makes an address that is valid only through a non-ASCII case mapping invalid', () => {
    expect(valid('Kate@Example.com')).toBe(true);
    expect(valid('\u212Aate@example.com')).toBe(false);
    expect(valid('\u0130vy@example.com')).toBe(false);
    expect(valid(' ann@example.com  ')).toBe(true);
    expect(valid('\tann@example.com')).toBe(false);
  });

  it('never gives two different normalised addresses one hash, nor one address two', () => {
    expect(emailHash('\u212Aate@example.com')).not.toBe(emailHash('kate@example.com'));
    expect(emailHash(' KATE@example.com ')).toBe(emailHash('kate@example.com'));
  });
});
