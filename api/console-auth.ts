import { parseCookie } from 'cookie';
import type { CookieOptions, Request, RequestHandler, Response } from 'express';
import { isSignedOut, recordSignOut } from '../db/console-sessions.js';
import type { Sql } from '../db/sql.js';
import { databaseCall } from './answers.js';
import { ApiError } from './errors.js';
import {
  type ConsoleSession,
  CSRF_HEADER,
  SESSION_COOKIE,
  sameText,
  sessionSigner,
} from './session-cookie.js';

/** Methods that change nothing: the only ones a session cookie may send without its CSRF token. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const sessionEnded = () =>
  new ApiError(
    401,
    'session_ended',
    'Sign in again: there is no console session, or it ended (expired, signed out, or the secret changed)',
    undefined,
    { 'WWW-Authenticate': 'Bearer realm="audience-sync"' },
  );

export const csrfRefused = () =>
  new ApiError(
    403,
    'csrf_token_invalid',
    `Requests other than GET made with the console session need its CSRF token in ${CSRF_HEADER}`,
  );

/**
 * The cookie's flags: HttpOnly (no script reads it), SameSite=Strict (no other site's page sends
 * it), Path=/ (the console and the API it calls), and Secure when the request came over HTTPS:
 * `req.secure`, which behind a proxy believes its X-Forwarded-Proto only when TRUST_PROXY trusts
 * that proxy.
 */
const cookieOptions = (req: Request): CookieOptions => ({
  httpOnly: true,
  sameSite: 'strict',
  path: '/',
  secure: req.secure,
});

export function createConsoleSessions(deps: { sql: Sql; secret: string; now: () => Date }) {
  const signer = sessionSigner(deps.secret);
  const cookieOf = (req: Request): string | undefined =>
    parseCookie(req.get('cookie') ?? '')[SESSION_COOKIE];

  return {
    hasCookie: (req: Request): boolean => cookieOf(req) !== undefined,

    /** The request's session; undefined without a cookie, or with one that no longer works. */
    async sessionOf(req: Request): Promise<ConsoleSession | undefined> {
      const session = signer.verify(cookieOf(req), deps.now());
      if (!session) return undefined;
      const signedOut = await databaseCall(() => isSignedOut(deps.sql, session.id));
      return signedOut ? undefined : session;
    },

    /** A new session: its cookie is set on the answer. */
    start(req: Request, res: Response): ConsoleSession {
      const { cookieValue, session } = signer.issue(deps.now());
      res.cookie(SESSION_COOKIE, cookieValue, {
        ...cookieOptions(req),
        maxAge: session.expiresAt.getTime() - deps.now().getTime(),
      });
      return session;
    },

    /** Clears the cookie, and makes the session useless should a copy of the cookie survive. */
    async end(req: Request, res: Response, session: ConsoleSession | undefined): Promise<void> {
      if (session) await databaseCall(() => recordSignOut(deps.sql, session.id, session.expiresAt));
      res.clearCookie(SESSION_COOKIE, cookieOptions(req));
    },

    csrfMatches: (req: Request, session: ConsoleSession): boolean =>
      sameText(req.get(CSRF_HEADER) ?? '', session.csrfToken),
  };
}

export type ConsoleSessions = ReturnType<typeof createConsoleSessions>;

/**
 * The marketing API's check: the Bearer secret as before, or instead the console's session
 * cookie, whose requests other than GET must carry its CSRF token. A request with an
 * Authorization header is always judged by it. A cookie that no longer works is a 401 not counted
 * as a failed authentication: it guesses nothing (an open console tab keeps sending its old
 * cookie after the secret changed, and must not lock its office out of signing in again).
 */
export function requireSecretOrSession(
  bearer: RequestHandler,
  sessions: ConsoleSessions,
): RequestHandler {
  return async (req, res, next) => {
    if (req.get('authorization') !== undefined || !sessions.hasCookie(req)) {
      return bearer(req, res, next);
    }
    const session = await sessions.sessionOf(req);
    if (!session) throw sessionEnded();
    if (!SAFE_METHODS.has(req.method) && !sessions.csrfMatches(req, session)) throw csrfRefused();
    next();
  };
}
