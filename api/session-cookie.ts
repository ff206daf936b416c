import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The console's session, without the secret in the page: the cookie says until when it holds
 * and which session it is, signed with a key derived from MARKETING_API_SECRET. A new secret
 * derives a new key, so every cookie signed with the old one stops working at once; no table of
 * sessions is needed to check one (sign-outs are remembered, see db/console-sessions.ts). The
 * CSRF token is derived from the session the same way, so it needs no storage either.
 */

export const SESSION_COOKIE = 'audience_sync_session';
export const CSRF_HEADER = 'X-CSRF-Token';
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

export interface ConsoleSession {
  /** Random, 18 bytes in base64url; names the session for a sign-out. */
  id: string;
  expiresAt: Date;
  csrfToken: string;
}

/** `v1.<expiry in epoch seconds>.<session id>.<HMAC-SHA256 of the three, base64url>` */
const COOKIE_VALUE = /^v1\.(\d{10,12})\.([A-Za-z0-9_-]{24})\.([A-Za-z0-9_-]{43})$/;

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** Equal strings, compared in constant time whatever their lengths. */
export const sameText = (given: string, expected: string): boolean =>
  timingSafeEqual(digest(given), digest(expected));

export interface SessionSigner {
  issue(now: Date): { cookieValue: string; session: ConsoleSession };
  /** The session a cookie value stands for; undefined when forged, from another secret, or expired. */
  verify(cookieValue: string | undefined, now: Date): ConsoleSession | undefined;
}

export function sessionSigner(secret: string): SessionSigner {
  const key = createHmac('sha256', secret).update('audience-sync console session v1').digest();
  const mac = (text: string) => createHmac('sha256', key).update(text).digest('base64url');
  const sessionOf = (id: string, expiresSeconds: number): ConsoleSession => ({
    id,
    expiresAt: new Date(expiresSeconds * 1000),
    csrfToken: mac(`csrf.${id}`),
  });
  return {
    issue(now) {
      const id = randomBytes(18).toString('base64url');
      const expires = Math.floor((now.getTime() + SESSION_TTL_MS) / 1000);
      const payload = `v1.${expires}.${id}`;
      return { cookieValue: `${payload}.${mac(payload)}`, session: sessionOf(id, expires) };
    },
    verify(cookieValue, now) {
      const match = COOKIE_VALUE.exec(cookieValue ?? '');
      if (!match) return undefined;
      const [, expires = '', id = '', signature = ''] = match;
      if (!sameText(signature, mac(`v1.${expires}.${id}`))) return undefined;
      if (Number(expires) * 1000 <= now.getTime()) return undefined;
      return sessionOf(id, Number(expires));
    },
  };
}
