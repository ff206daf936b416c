import { z } from 'zod';

/** The API rejects addresses such as `xxx+!@gmail.com`; zod's address rule does the same. */
export function isValidEmail(value: string): boolean {
  return z.regexes.email.test(value);
}
