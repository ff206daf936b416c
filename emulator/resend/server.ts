import { serveEmulator } from '../common/server.js';
import { handleResendAdminRequest } from './admin.js';
import { EmulatorCore } from './core.js';
import type { FaultConfig, ResendEmulatorOptions } from './options.js';
import { resolveOptions } from './options.js';
import { handleResendRequest } from './pipeline.js';

export interface StartedResendEmulator {
  /** e.g. http://127.0.0.1:54321 (no trailing slash). */
  url: string;
  port: number;
  /** Replaces the faults; re-seeds the fault randomness if `seed` is given. */
  setFaults(faults: FaultConfig, seed?: number): void;
  setRateLimit(rps: number): void;
  /** The configured webhook endpoints (their secrets included: this is a local test double). */
  webhookEndpoints(): { id: string; url: string; secret: string }[];
  /** Clears all state, the log and the faults (keeps the rate limit and the keys). */
  reset(): void;
  close(): Promise<void>;
}

/** Starts an emulator of the Resend contacts/segments API on its own HTTP server. */
export async function startResendEmulator(
  options: ResendEmulatorOptions = {},
): Promise<StartedResendEmulator> {
  const resolved = resolveOptions(options);
  const core = new EmulatorCore(resolved);
  const server = await serveEmulator({
    label: 'Resend emulator',
    host: resolved.host,
    port: resolved.port,
    admin: (incoming, response) => handleResendAdminRequest(core, incoming, response),
    api: (incoming, response) => handleResendRequest(core, incoming, response),
    beforeClose: () => core.stopPendingWork(),
  });
  return {
    url: server.url,
    port: server.port,
    setFaults: (faults, seed) => core.setFaults(faults, seed),
    setRateLimit: (rps) => core.rateLimiter.setLimit(rps),
    webhookEndpoints: () =>
      core.webhooks.endpoints.map(({ id, url, secret }) => ({ id, url, secret })),
    reset: () => core.reset(),
    close: () => server.close(),
  };
}
