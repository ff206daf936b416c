import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The file in the data folder that keeps the local stack's marketing secret. */
export const DEV_SECRET_FILE = 'marketing-secret';

/** What the configuration accepts as a marketing secret. */
const MIN_SECRET_LENGTH = 32;

/**
 * The marketing secret `npm run dev` uses when MARKETING_API_SECRET is not set: made once and
 * kept in the data folder (readable by its owner only), so the commands pasted from one session's
 * banner, and the scripts written around them, still work after a restart.
 */
export function keptDevSecret(dataDir: string): string {
  const file = path.join(dataDir, DEV_SECRET_FILE);
  if (existsSync(file)) {
    const kept = readFileSync(file, 'utf8').trim();
    if (kept.length >= MIN_SECRET_LENGTH) return kept;
  }
  const secret = randomBytes(32).toString('base64url');
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
