import { z } from 'zod';

/** Where deliveries go: an http(s) URL. */
export const webhookUrlSchema = z.url({ protocol: /^https?$/ });

/** A signing secret as Standard Webhooks (and Svix) write it: `whsec_` and base64. */
export const webhookSecretSchema = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be whsec_ followed by base64');
