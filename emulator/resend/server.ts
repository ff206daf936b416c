import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ADMIN_PREFIX, handleAdminRequest } from './admin.js';
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

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function formatUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Starts an emulator of the Resend contacts/segments API on its own HTTP server. */
export async function startResendEmulator(
  options: ResendEmulatorOptions = {},
): Promise<StartedResendEmulator> {
  const resolved = resolveOptions(options);
  const core = new EmulatorCore(resolved);
  const server = createServer((incoming, response) => {
    const path = incoming.url ?? '/';
    const isAdmin =
      path === ADMIN_PREFIX ||
      path.startsWith(`${ADMIN_PREFIX}/`) ||
      path.startsWith(`${ADMIN_PREFIX}?`);
    const handling = isAdmin
      ? handleAdminRequest(core, incoming, response)
      : handleResendRequest(core, incoming, response);
    handling.catch((error: unknown) => {
      console.error('Resend emulator: request failed:', error);
      response.destroy();
    });
  });
  const address = await listen(server, resolved.port, resolved.host);
  let closing: Promise<void> | undefined;
  return {
    url: formatUrl(resolved.host, address.port),
    port: address.port,
    setFaults: (faults, seed) => core.setFaults(faults, seed),
    setRateLimit: (rps) => core.rateLimiter.setLimit(rps),
    webhookEndpoints: () =>
      core.webhooks.endpoints.map(({ id, url, secret }) => ({ id, url, secret })),
    reset: () => core.reset(),
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        core.timers.clear();
        core.releaseHanging();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
