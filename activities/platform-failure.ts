import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import { PlatformError } from './platforms/platform.js';

/**
 * A platform's error as the Temporal failure an activity throws: its code as the type, retried
 * unless the platform said it is final. Codes and messages hold no personal data. Other errors
 * are returned as they are.
 */
export function platformFailureOf(error: unknown): unknown {
  if (!(error instanceof PlatformError)) return error;
  return ApplicationFailure.create({
    type: error.code,
    message: error.message,
    nonRetryable: !error.retryable,
    // An ambiguous create is expected under faults and handled by the retry.
    ...(error.code === 'list_create_ambiguous'
      ? { category: ApplicationFailureCategory.BENIGN }
      : {}),
  });
}
