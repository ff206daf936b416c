import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP hop between two real parts (the worker and the Resend emulator, or the emulator's
 * webhooks and the API) that forwards everything as it is, and can hold chosen requests until the
 * test lets them go: a test then puts another part's work exactly between a request being sent
 * and it reaching the other side.
 */

export interface ProxiedRequest {
  method: string;
  /** Path and query. */
  path: string;
  body: string;
}

export interface Hold {
  /** The held requests, once `count` of them arrived. */
  arrived: Promise<ProxiedRequest[]>;
  /** Sends the held requests (and any later match of a hold not yet full) on. */
  release(): void;
  /** Settles once every held request was answered and the answer passed back. */
  answered: Promise<void>;
}

export interface HoldingProxy {
  url: string;
  /** Where requests go (no trailing slash); set it once the target is listening. */
  target: string;
  /** Every request that came through, in order of arrival. */
  seen: ProxiedRequest[];
  /** Holds the next `count` requests `matches` accepts (one by default). */
  hold(matches: (request: ProxiedRequest) => boolean, count?: number): Hold;
  close(): Promise<void>;
}

const HOP_HEADERS = new Set(['host', 'connection', 'content-length', 'transfer-encoding']);

async function readBody(incoming: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of incoming) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

export async function startHoldingProxy(): Promise<HoldingProxy> {
  const holds: {
    matches: (request: ProxiedRequest) => boolean;
    count: number;
    held: ProxiedRequest[];
    released: Promise<void>;
    arrivedAll: (held: ProxiedRequest[]) => void;
    answeredCount: number;
    answeredAll: () => void;
  }[] = [];
  const seen: ProxiedRequest[] = [];

  const forward = async (
    incoming: IncomingMessage,
    response: ServerResponse,
    request: ProxiedRequest,
    body: Buffer,
  ) => {
    const headers = Object.entries(incoming.headers).flatMap(([name, value]) =>
      HOP_HEADERS.has(name) || value === undefined
        ? []
        : [[name, Array.isArray(value) ? value.join(', ') : value] as [string, string]],
    );
    const answer = await fetch(`${proxy.target}${request.path}`, {
      method: request.method,
      headers,
      ...(body.length > 0 ? { body } : {}),
    });
    const text = Buffer.from(await answer.arrayBuffer());
    const answerHeaders = [...answer.headers.entries()].filter(
      ([name]) => !HOP_HEADERS.has(name) && name !== 'content-encoding',
    );
    response.writeHead(answer.status, Object.fromEntries(answerHeaders));
    response.end(text);
  };

  const server = createServer((incoming, response) => {
    void (async () => {
      const body = await readBody(incoming);
      const request = {
        method: incoming.method ?? 'GET',
        path: incoming.url ?? '/',
        body: body.toString('utf8'),
      };
      seen.push(request);
      const hold = holds.find((one) => one.held.length < one.count && one.matches(request));
      if (!hold) return forward(incoming, response, request, body);
      hold.held.push(request);
      if (hold.held.length === hold.count) hold.arrivedAll([...hold.held]);
      await hold.released;
      try {
        await forward(incoming, response, request, body);
      } finally {
        hold.answeredCount += 1;
        if (hold.answeredCount === hold.held.length) hold.answeredAll();
      }
    })().catch((error: unknown) => {
      response.writeHead(502, { 'content-type': 'text/plain' });
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const proxy: HoldingProxy = {
    url: `http://127.0.0.1:${port}`,
    target: '',
    seen,
    hold(matches, count = 1) {
      let release = () => {};
      let arrivedAll: (held: ProxiedRequest[]) => void = () => {};
      let answeredAll = () => {};
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      const arrived = new Promise<ProxiedRequest[]>((resolve) => {
        arrivedAll = resolve;
      });
      const answered = new Promise<void>((resolve) => {
        answeredAll = resolve;
      });
      const entry = {
        matches,
        count,
        held: [] as ProxiedRequest[],
        released,
        arrivedAll,
        answeredCount: 0,
        answeredAll,
      };
      holds.push(entry);
      return {
        arrived,
        answered,
        release: () => {
          // Nothing more is held; what was held goes on.
          entry.count = entry.held.length;
          release();
          if (entry.held.length === 0) answeredAll();
        },
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return proxy;
}
