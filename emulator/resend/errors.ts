/** An error answered in Resend's envelope: `{ statusCode, message, name }`. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly errorName: string,
    message: string,
  ) {
    super(message);
  }

  /** The body, keys in the order the real API sends them. */
  toBody(): ErrorBody {
    return { statusCode: this.statusCode, message: this.message, name: this.errorName };
  }
}

export interface ErrorBody {
  statusCode: number;
  message: string;
  name: string;
}

export const MESSAGES = {
  contactNotFound: 'Contact not found',
  /** The API still says "Audience" for unknown segments. */
  segmentNotFound: 'Audience not found',
  topicNotFound: 'Topic not found',
  contactPropertyNotFound: 'Contact property not found',
  importNotFound: 'Contact import not found',
  contactNotInSegment: 'Contact is not in this segment',
  endpointNotFound: 'The requested endpoint does not exist.',
  paginationLimit:
    'The pagination limit must be a number between 1 and 100. See https://resend.com/docs/pagination for more information.',
  bothCursors:
    'You can only use one of `after` or `before` at a time. See https://resend.com/docs/pagination for more information.',
  missingApiKey:
    'Missing API key in the authorization header. Include the following header in the request: Authorization: Bearer YOUR_API_KEY',
  invalidApiKey: 'API key is invalid',
  rateLimited:
    'Too many requests. Please limit the number of requests per second. Or contact support to increase rate limit.',
  internal: 'An unexpected error occurred.',
  unavailable: 'The service is temporarily unavailable. Please try again later.',
} as const;

export const notFound = (message: string) => new ApiError(404, 'not_found', message);

export const validationError = (message: string) => new ApiError(422, 'validation_error', message);

export const missingRequiredField = (field: string) =>
  new ApiError(422, 'missing_required_field', `Missing \`${field}\` field.`);

export const invalidUuid = (field: string) =>
  new ApiError(422, 'validation_error', `The \`${field}\` must be a valid UUID.`);

export const methodNotAllowed = () =>
  new ApiError(405, 'method_not_allowed', 'Method is not allowed for the requested path.');
