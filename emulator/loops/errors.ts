/** An error answered in Loops' envelope: `{ success: false, message }`. */
export class LoopsError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }

  toBody(): { success: false; message: string } {
    return { success: false, message: this.message };
  }
}

/** Our wording where Loops documents only the status; every one is listed in the docs' guesses. */
export const MESSAGES = {
  invalidApiKey: 'Invalid API key',
  rateLimited: 'Rate limit exceeded.',
  notFound: 'Not found.',
  methodNotAllowed: 'Method not allowed.',
  tooLarge: 'Request body too large.',
  invalidJson: 'Invalid JSON in request body.',
  invalidEmail: 'Invalid email address.',
  emailRequired: 'An email address is required.',
  emailRequiredToCreate: 'An email address is required to create a contact.',
  identifierRequired: 'Provide an email or userId.',
  onlyOneIdentifier: 'Only one of email or userId is allowed.',
  contactExists: 'Email or userId already exists.',
  identifiersDisagree: 'The email and userId belong to different contacts.',
  contactNotFound: 'Contact not found.',
  notSuppressed: 'Contact is not suppressed.',
  quotaExceeded: 'Removal quota exceeded.',
  suppressionRemoved: 'Email removed from suppression list.',
  contactDeleted: 'Contact deleted.',
  propertyExists: 'Property already exists.',
  internal: 'Internal server error.',
  unavailable: 'Service unavailable.',
} as const;

export const badRequest = (message: string) => new LoopsError(400, message);
