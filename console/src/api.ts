/**
 * The console calls the same API as every client, with the session cookie instead of the Bearer
 * header. Writes carry the session's CSRF token. An error shows the API's own message.
 */

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

let csrfToken: string | undefined;
const signedOutListeners = new Set<() => void>();

export function useCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** Called when an answer says the session is no longer valid (expired, or the secret changed). */
export function onSignedOut(listener: () => void): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

interface ErrorBody {
  error?: { code?: unknown; message?: unknown };
}

/** The API's message for a failed answer; a plain sentence when the answer is not the API's. */
export function failureOf(status: number, statusText: string, body: unknown): ApiFailure {
  const error = (body as ErrorBody | undefined)?.error;
  if (error && typeof error.message === 'string') {
    return new ApiFailure(
      status,
      error.message,
      typeof error.code === 'string' ? error.code : undefined,
    );
  }
  const reason = statusText ? ` (${status} ${statusText})` : ` (${status})`;
  return new ApiFailure(status, `The service did not answer as expected${reason}. Try again.`);
}

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Where the caller stops waiting, e.g. a screen that was left. */
  signal?: AbortSignal;
}

async function send(method: string, path: string, options: CallOptions): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  try {
    return await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw new ApiFailure(0, 'The service cannot be reached. Check your connection and try again.');
  }
}

/** Sends a request and answers its JSON body; throws ApiFailure with the API's message. */
export async function call<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
  const response = await send(method, path, options);
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const failure = failureOf(response.status, response.statusText, body);
    if (response.status === 401 && !path.startsWith('/console/session')) {
      for (const listener of signedOutListeners) listener();
    }
    throw failure;
  }
  return body as T;
}

/** Downloads a CSV answer as a file named `filename`. */
export async function downloadCsv(path: string, filename: string): Promise<void> {
  const response = await send('GET', path, { headers: { accept: 'text/csv' } });
  if (!response.ok) {
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    throw failureOf(response.status, response.statusText, body);
  }
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  // The browser has taken the file once the click is handled.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A query string of the values that are set. */
export function query(values: Record<string, string | number | boolean | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}
