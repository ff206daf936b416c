/** Unwraps an SDK answer (`{ data, error }`), failing with the API's error when there is one. */
export function dataOf<T>(answer: { data: T | null; error: unknown }): T {
  if (answer.error || answer.data === null)
    throw new Error(`SDK error: ${JSON.stringify(answer.error)}`);
  return answer.data;
}
