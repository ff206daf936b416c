import { call, useCsrfToken } from './api.js';
import type { Session } from './types.js';

/** The session of an earlier sign-in (the cookie), or undefined when there is none. */
export async function currentSession(): Promise<Session | undefined> {
  try {
    const session = await call<Session>('GET', '/console/session');
    useCsrfToken(session.csrfToken);
    return session;
  } catch {
    return undefined;
  }
}

/** Exchanges the secret for the session cookie; the secret is kept nowhere in the page. */
export async function signIn(secret: string): Promise<Session> {
  const session = await call<Session>('POST', '/console/session', { body: { secret } });
  useCsrfToken(session.csrfToken);
  return session;
}

export async function signOut(): Promise<void> {
  try {
    await call('DELETE', '/console/session');
  } finally {
    useCsrfToken(undefined);
  }
}
