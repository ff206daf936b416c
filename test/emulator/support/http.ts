import type { StartedResendEmulator } from '../../../emulator/resend/index.js';

export const TEST_KEY = 're_test_key';

export interface JsonAnswer {
  status: number;
  headers: Headers;
  body: unknown;
}

export interface CallOptions {
  body?: unknown;
  key?: string | null;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** Calls a Resend path of the emulator the way the SDK does (Bearer key, User-Agent, JSON). */
export async function callApi(
  emulator: Pick<StartedResendEmulator, 'url'>,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<JsonAnswer> {
  const headers: Record<string, string> = {
    'user-agent': 'audience-sync-tests',
    'content-type': 'application/json',
    ...options.headers,
  };
  const key = options.key === undefined ? TEST_KEY : options.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  const response = await fetch(`${emulator.url}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: response.status, headers: response.headers, body };
}

/** Calls the admin API; fails the test on a non-2xx answer. */
export async function callAdmin<T = unknown>(
  emulator: Pick<StartedResendEmulator, 'url'>,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${emulator.url}/_emulator${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`admin ${method} ${path} → ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function field(value: unknown, name: string): unknown {
  return value && typeof value === 'object' ? (value as Record<string, unknown>)[name] : undefined;
}

export function stringField(value: unknown, name: string): string {
  const found = field(value, name);
  if (typeof found !== 'string')
    throw new Error(`expected a string "${name}" in ${JSON.stringify(value)}`);
  return found;
}
