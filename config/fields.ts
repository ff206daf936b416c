import { z } from 'zod';

/**
 * Building blocks of environment variables, shared by the service's configuration (env.ts) and
 * the platforms' settings (their declarations), so every variable reads and fails alike.
 */

export const intFromEnv = (min: number, max: number) => {
  const message = `must be a whole number from ${min} to ${max}`;
  return z.coerce.number({ error: message }).int(message).min(min, message).max(max, message);
};

export const booleanFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

export const httpUrl = () =>
  z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

/** A Standard Webhooks signing secret, as Resend and Loops show it: `whsec_` and base64. */
export const webhookSecret = (whose: string) =>
  z
    .string()
    .regex(
      /^whsec_[A-Za-z0-9+/]+={0,2}$/,
      `must be the endpoint's signing secret from ${whose} (whsec_ followed by base64)`,
    );
