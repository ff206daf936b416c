import type { ErrorRequestHandler, RequestHandler } from 'express';
import { UsersSourceError } from '../db/users-source.js';

export interface ErrorDetail {
  field?: string;
  message?: string;
  runId?: string;
  [key: string]: unknown;
}

/** An answer other than 2xx, in SPEC's error body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const errorBody = (code: string, message: string, details?: ErrorDetail[]) => ({
  success: false as const,
  error: { code, message, ...(details && details.length > 0 ? { details } : {}) },
});

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new ApiError(404, 'not_found', `There is no ${req.method} ${req.path}`));
};

const MIB = 1024 * 1024;
const sizeText = (bytes: number): string =>
  bytes % MIB === 0 ? `${bytes / MIB} MiB` : `${Math.round(bytes / 1024)} KiB`;

/** Body-parser failures carry a `type`; they become clear client errors. */
const fromBodyParser = (error: unknown): ApiError | undefined => {
  if (typeof error !== 'object' || error === null || !('type' in error)) return undefined;
  switch (error.type) {
    case 'entity.too.large': {
      // Routes have different limits; the parser says which one this body went over.
      const limit = 'limit' in error && typeof error.limit === 'number' ? error.limit : undefined;
      return new ApiError(
        413,
        'payload_too_large',
        limit === undefined
          ? 'The request body is too large'
          : `The request body is over the ${sizeText(limit)} limit`,
      );
    }
    case 'entity.parse.failed':
      return new ApiError(400, 'invalid_json', 'The request body is not valid JSON');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError(415, 'unsupported_media_type', 'Send the body as UTF-8 JSON');
    default:
      return undefined;
  }
};

/** A users relation the service cannot read users from: the message names what it lacks. */
const fromUsersSource = (error: unknown): ApiError | undefined =>
  error instanceof UsersSourceError
    ? new ApiError(503, 'users_source_invalid', error.message, [{ part: 'usersSource' }])
    : undefined;

/**
 * The last handler: every failure leaves in SPEC's shape, with no stack trace, SQL or secret.
 * Unexpected errors are logged with the request id and answered with a generic 500.
 */
export const errorHandler: ErrorRequestHandler = (error: unknown, req, res, _next) => {
  const known =
    error instanceof ApiError ? error : (fromBodyParser(error) ?? fromUsersSource(error));
  if (known) {
    res
      .set(known.headers)
      .status(known.status)
      .json(errorBody(known.code, known.message, known.details));
    return;
  }
  req.log?.error({ err: error }, 'request failed');
  res
    .status(500)
    .json(
      errorBody('internal_error', `Something went wrong on our side (request ${String(req.id)})`),
    );
};
