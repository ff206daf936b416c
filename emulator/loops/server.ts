import type { FaultConfig } from '../common/faults.js';
import { handleApiRequest } from '../common/pipeline.js';
import { serveEmulator } from '../common/server.js';
import { handleLoopsAdminRequest } from './admin.js';
import { LoopsCore } from './core.js';
import { type LoopsEmulatorOptions, resolveLoopsOptions } from './options.js';
import { mailingListBody } from './serialize.js';

export interface StartedLoopsEmulator {
  /** e.g. http://127.0.0.1:54321 (no trailing slash). */
  url: string;
  /** What to give the SDK as `apiRoot`: `<url>/api/`, as Loops' own `https://app.loops.so/api/`. */
  apiRoot: string;
  port: number;
  /** The team's mailing lists, the demo list first by default. */
  mailingLists(): { id: string; name: string; description: string | null; isPublic: boolean }[];
  /** The account's webhook endpoint, its secret included (this is a local test double). */
  webhookEndpoint(): { url: string; secret: string } | undefined;
  /** Replaces the faults; re-seeds the fault randomness if `seed` is given. */
  setFaults(faults: FaultConfig, seed?: number): void;
  setRateLimit(rps: number): void;
  /** Clears contacts, properties, the log and the faults (keeps lists, limit, keys, webhook). */
  reset(): void;
  close(): Promise<void>;
}

/** Starts an emulator of the Loops contacts, mailing lists and properties API. */
export async function startLoopsEmulator(
  options: LoopsEmulatorOptions = {},
): Promise<StartedLoopsEmulator> {
  const resolved = resolveLoopsOptions(options);
  const core = new LoopsCore(resolved);
  const server = await serveEmulator({
    label: 'Loops emulator',
    host: resolved.host,
    port: resolved.port,
    admin: (incoming, response) => handleLoopsAdminRequest(core, incoming, response),
    api: (incoming, response) => handleApiRequest(core, core.dialect, incoming, response),
    beforeClose: () => core.stopPendingWork(),
  });
  return {
    url: server.url,
    apiRoot: `${server.url}/api/`,
    port: server.port,
    mailingLists: () => core.store.lists.map(mailingListBody),
    webhookEndpoint: () => {
      const endpoint = core.webhooks.endpoints[0];
      return endpoint && { url: endpoint.url, secret: endpoint.secret };
    },
    setFaults: (faults, seed) => core.setFaults(faults, seed),
    setRateLimit: (rps) => core.rateLimiter.setLimit(rps),
    reset: () => core.reset(),
    close: () => server.close(),
  };
}
