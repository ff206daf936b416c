import type { Sql } from './sql.js';

/**
 * Console sessions that were signed out before they expired. A session cookie is checked by its
 * signature alone; this short list makes a signed-out cookie useless too, should a copy of it
 * survive. Rows go once their session would have expired anyway.
 */

export async function recordSignOut(sql: Sql, sessionId: string, expiresAt: Date): Promise<void> {
  await sql`
    with forgotten as (
      delete from audience_sync.console_sign_outs where expires_at < now()
    )
    insert into audience_sync.console_sign_outs (session_id, expires_at)
    values (${sessionId}, ${expiresAt})
    on conflict do nothing`;
}

export async function isSignedOut(sql: Sql, sessionId: string): Promise<boolean> {
  const [row] = await sql`
    select 1 from audience_sync.console_sign_outs where session_id = ${sessionId}`;
  return row !== undefined;
}
