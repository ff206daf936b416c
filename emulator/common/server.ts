import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAdminPath } from './admin.js';

type Handler = (incoming: IncomingMessage, response: ServerResponse) => Promise<void>;

export interface EmulatorServer {
  /** e.g. http://127.0.0.1:54321 (no trailing slash). */
  url: string;
  port: number;
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

/**
 * Serves an emulator: admin paths to `admin`, the rest to `api`. `beforeClose` cancels the
 * emulator's own pending work (timers, hanging answers) so closing never waits on it.
 */
export async function serveEmulator(options: {
  label: string;
  host: string;
  port: number;
  admin: Handler;
  api: Handler;
  beforeClose: () => void;
}): Promise<EmulatorServer> {
  const server = createServer((incoming, response) => {
    const handle = isAdminPath(incoming.url ?? '/') ? options.admin : options.api;
    handle(incoming, response).catch((error: unknown) => {
      console.error(`${options.label}: request failed:`, error);
      response.destroy();
    });
  });
  const address = await listen(server, options.port, options.host);
  let closing: Promise<void> | undefined;
  return {
    url: formatUrl(options.host, address.port),
    port: address.port,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        options.beforeClose();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
