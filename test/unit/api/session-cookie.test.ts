import { describe, expect, it } from 'vitest';
import { SESSION_TTL_MS, sameText, sessionSigner } from '../../../api/session-cookie.js';

const SECRET = 'a-secret-that-is-at-least-32-characters-long';
const NOW = new Date('2030-05-01T09:00:00Z');

describe('sessionSigner', () => {
  it('issues a cookie that verifies as the same session for 12 hours, and not after', () => {
    const signer = sessionSigner(SECRET);
    const { cookieValue, session } = signer.issue(NOW);
    expect(cookieValue).not.toContain(SECRET);
    expect(session.expiresAt.getTime()).toBe(NOW.getTime() + SESSION_TTL_MS);
    const justBefore = new Date(NOW.getTime() + SESSION_TTL_MS - 1000);
    expect(signer.verify(cookieValue, justBefore)).toEqual(session);
    expect(signer.verify(cookieValue, session.expiresAt)).toBeUndefined();
  });

  it('refuses a cookie signed with another secret', () => {
    const { cookieValue } = sessionSigner(SECRET).issue(NOW);
    expect(sessionSigner(`${SECRET}-rotated`).verify(cookieValue, NOW)).toBeUndefined();
  });

  it('refuses a cookie whose expiry or id was changed, or that is not one', () => {
    const signer = sessionSigner(SECRET);
    const { cookieValue } = signer.issue(NOW);
    const [version, expires, id, mac] = cookieValue.split('.');
    const later = `${version}.${Number(expires) + 3600}.${id}.${mac}`;
    const otherId = `${version}.${expires}.${'A'.repeat(24)}.${mac}`;
    for (const forged of [later, otherId, '', 'garbage', `${cookieValue}x`, undefined]) {
      expect(signer.verify(forged, NOW)).toBeUndefined();
    }
  });

  it('gives each session its own CSRF token, the same at every verification', () => {
    const signer = sessionSigner(SECRET);
    const first = signer.issue(NOW);
    const second = signer.issue(NOW);
    expect(first.session.csrfToken).not.toBe(second.session.csrfToken);
    expect(signer.verify(first.cookieValue, NOW)?.csrfToken).toBe(first.session.csrfToken);
    expect(sessionSigner(`${SECRET}-rotated`).issue(NOW).session.csrfToken).not.toBe(
      first.session.csrfToken,
    );
  });
});

describe('sameText', () => {
  it('compares whatever the lengths', () => {
    expect(sameText('token', 'token')).toBe(true);
    expect(sameText('token', 'tokem')).toBe(false);
    expect(sameText('', 'token')).toBe(false);
    expect(sameText('a-much-longer-guess-than-the-token', 'token')).toBe(false);
  });
});
