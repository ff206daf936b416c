import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  fingerprintColumns,
  fingerprintSeed,
  userFingerprintSql,
} from '../../../db/sent-fingerprints.js';
import { normalisedEmailSql, validEmailSql } from '../../../db/users-contract.js';
import {
  emailHashSql,
  fieldHash,
  nameHashSql,
  propertyHashSql,
  sentFieldsSameSql,
} from '../../../db/users-source.js';

/**
 * A fingerprint of what was sent is seeded by the run's account and property map, so one taken
 * for another account or map never matches; the same map written in another key order does.
 */
describe('sent fingerprint seed', () => {
  const types = { plan: 'text', seats: 'integer' };

  it('differs by account, by property key, by column and by the column type', () => {
    const seeds = [
      fingerprintSeed('resend:a', { plan: 'plan' }, types),
      fingerprintSeed('resend:b', { plan: 'plan' }, types),
      fingerprintSeed('resend:a', { tier: 'plan' }, types),
      fingerprintSeed('resend:a', { plan: 'seats' }, types),
      fingerprintSeed('resend:a', { plan: 'plan' }, { plan: 'integer' }),
      fingerprintSeed('resend:a', {}, types),
      fingerprintSeed('resend:a', undefined, types),
    ];
    expect(new Set(seeds.slice(0, 6)).size).toBe(6);
    expect(seeds[6]).toBe(seeds[5]);
  });

  it('does not depend on the order the map was written in', () => {
    expect(fingerprintSeed('resend:a', { plan: 'plan', seats: 'seats' }, types)).toBe(
      fingerprintSeed('resend:a', { seats: 'seats', plan: 'plan' }, types),
    );
    expect(fingerprintColumns({ seats: 'seats', plan: 'plan' })).toEqual(['plan', 'seats']);
    expect(fingerprintColumns(undefined)).toEqual([]);
  });

  it('keeps an account and a key apart where plain joining would not', () => {
    expect(fingerprintSeed('resend:a', { b: 'plan' }, types)).not.toBe(
      fingerprintSeed('resend:ab', {}, types),
    );
  });
});

/**
 * A fingerprint stands for the rules that compared the record with the user's values. When their
 * code changes, fingerprints taken under the old rules must stop matching: raise
 * FINGERPRINT_RULES in db/sent-fingerprints.ts, then put the new digest here.
 */
describe('the rules a fingerprint stands for', () => {
  it('are the ones it was last raised for', () => {
    const rules = [
      normalisedEmailSql,
      validEmailSql,
      emailHashSql,
      fieldHash,
      nameHashSql,
      propertyHashSql,
      sentFieldsSameSql,
      userFingerprintSql,
    ]
      .map((rule) => rule.toString())
      .join('\n');
    expect(createHash('sha256').update(rules).digest('hex').slice(0, 16)).toBe('ad360744e15bb759');
  });
});
