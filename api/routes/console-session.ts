import { Router } from 'express';
import type { FailedAuthLimiter } from '../auth.js';
import { type ConsoleSessions, csrfRefused, sessionEnded } from '../console-auth.js';
import { sessionBodySchema } from '../console-schemas.js';
import { ApiError } from '../errors.js';
import { type ConsoleSession, sameText } from '../session-cookie.js';
import { parseInput } from '../validation.js';

const wrongSecret = () =>
  new ApiError(401, 'invalid_secret', 'That is not the marketing API secret');

const sessionAnswer = (session: ConsoleSession) => ({
  success: true,
  csrfToken: session.csrfToken,
  expiresAt: session.expiresAt.toISOString(),
});

/**
 * `/console/session`: sign-in exchanges the secret (once, in a JSON body) for the session
 * cookie; the page never keeps the secret. A wrong secret is counted by the same failed-auth
 * limiter as a wrong Bearer header. Answers carry the CSRF token, so they are never cached.
 */
export function consoleSessionRouter(deps: {
  secret: string;
  sessions: ConsoleSessions;
  /** The failed-auth limiter the Bearer check counts with. */
  limiter: FailedAuthLimiter;
}): Router {
  const router = Router();
  router.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });

  router.post('/', (req, res, next) => {
    const { secret } = parseInput(sessionBodySchema, req.body ?? {}, 'body');
    if (!sameText(secret, deps.secret)) {
      // Counted, then 401 while the address is within its allowance (the limiter answers 429).
      deps.limiter.fail(req, res, next, wrongSecret());
      return;
    }
    res.json(sessionAnswer(deps.sessions.start(req, res)));
  });

  // The token again, for a page that was reloaded.
  router.get('/', async (req, res) => {
    const session = await deps.sessions.sessionOf(req);
    if (!session) throw sessionEnded();
    res.json(sessionAnswer(session));
  });

  // Sign-out always clears the cookie; a session that still works needs its CSRF token to end.
  router.delete('/', async (req, res) => {
    const session = await deps.sessions.sessionOf(req);
    if (session && !deps.sessions.csrfMatches(req, session)) throw csrfRefused();
    await deps.sessions.end(req, res, session);
    res.json({ success: true, signedOut: true });
  });

  return router;
}
