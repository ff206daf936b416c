import { type ChildProcess, spawn } from 'node:child_process';
import { matchRoute } from '../emulator/resend/routes/index.js';

/** The emulators as the benchmarks drive them: their own process, read through their admin API. */

/** The standalone emulator, in its own process like the remote service it stands for. */
export async function startEmulatorProcess(
  rate: number,
  /** Every request a benchmark audits must still be in the log when it is read. */
  requestLogLimit: number,
  /** Whose emulator: its folder under emulator/. */
  platform: 'resend' | 'loops' = 'resend',
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      `emulator/${platform}/main.ts`,
      ...['--port', '0', '--rate-limit', String(rate)],
      ...['--request-log-limit', String(requestLogLimit)],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`the emulator exited with ${code}`)));
  });
  return { url, child };
}

export async function admin<T>(
  emulatorUrl: string,
  pathAndQuery: string,
  method = 'GET',
  body?: unknown,
): Promise<T> {
  const call = () =>
    fetch(`${emulatorUrl}/_emulator${pathAndQuery}`, {
      method,
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
  // Once more on a fresh connection: when the benchmark's event loop was busy (a million users
  // read from Postgres), a pooled connection can be reused after the emulator closed it. Only
  // requests that are safe to repeat (every method here but POST) are sent again.
  const response = await call().catch((error: unknown) => {
    if (method === 'POST') throw error;
    return call();
  });
  if (!response.ok) {
    throw new Error(
      `emulator ${method} ${pathAndQuery}: ${response.status} ${await response.text()}`,
    );
  }
  return (await response.json()) as T;
}

/** Every page of an admin listing (the admin API answers at most 100,000 items at a time). */
export async function adminAll<T>(
  emulatorUrl: string,
  path: string,
  cursor: 'offset' | 'since_seq',
  sinceSeq = 0,
) {
  const items: T[] = [];
  for (;;) {
    const position =
      cursor === 'offset'
        ? items.length
        : ((items.at(-1) as { seq?: number } | undefined)?.seq ?? sinceSeq);
    const page = await admin<{ data: T[] }>(
      emulatorUrl,
      `${path}${path.includes('?') ? '&' : '?'}limit=100000&${cursor}=${position}`,
    );
    items.push(...page.data);
    if (page.data.length < 100_000) return items;
  }
}

export interface LoggedRequest {
  seq: number;
  at: string;
  method: string;
  path: string;
  outcome: string;
}

/** Requests the emulator answered after the one numbered `seq`, in arrival order. */
export const requestsSince = (emulatorUrl: string, seq: number) =>
  adminAll<LoggedRequest>(emulatorUrl, '/requests', 'since_seq', seq);

/** Requests the emulator has seen since its last reset (answered or in flight). */
export const requestCount = async (emulatorUrl: string) =>
  (await admin<{ requests: number }>(emulatorUrl, '/stats')).requests;

export const isRateLimited = (entry: Pick<LoggedRequest, 'outcome'>) =>
  entry.outcome.endsWith('rate_limited');

/**
 * `PATCH /contacts/:contact`: the method and the route pattern the emulator matched, so ids and
 * emails never reach a report.
 */
export const requestKind = ({ method, path }: LoggedRequest): string => {
  const match = matchRoute(method, path);
  return `${method} ${match.kind === 'found' ? match.route.pattern.source : '(no route)'}`;
};

/** How many requests of each kind; refused ones (429) apart. */
export const countByKind = (entries: LoggedRequest[]): Record<string, number> => {
  const kinds: Record<string, number> = {};
  for (const entry of entries) {
    const kind = isRateLimited(entry) ? `${requestKind(entry)} (429)` : requestKind(entry);
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
};
