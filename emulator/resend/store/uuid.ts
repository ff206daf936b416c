const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Any UUID-shaped string (the API answers 404, not 422, for the all-zero UUID). */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
