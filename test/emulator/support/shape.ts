function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return kindOf(value) === 'object';
}

/**
 * Where `actual` differs in shape from `expected`: object keys (same keys, same order) and value
 * types, recursively; arrays must have the same length and items of the same shape.
 */
export function shapeDifferences(expected: unknown, actual: unknown, at = '$'): string[] {
  const expectedKind = kindOf(expected);
  const actualKind = kindOf(actual);
  if (expectedKind !== actualKind) return [`${at}: expected ${expectedKind}, got ${actualKind}`];
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (expected.length !== actual.length) {
      return [`${at}: expected ${expected.length} items, got ${actual.length}`];
    }
    return actual.flatMap((item, index) =>
      shapeDifferences(expected[index], item, `${at}[${index}]`),
    );
  }
  if (isRecord(expected) && isRecord(actual)) {
    const expectedKeys = Object.keys(expected);
    const actualKeys = Object.keys(actual);
    if (expectedKeys.join() !== actualKeys.join()) {
      return [`${at}: expected keys [${expectedKeys.join(', ')}], got [${actualKeys.join(', ')}]`];
    }
    return expectedKeys.flatMap((key) =>
      shapeDifferences(expected[key], actual[key], `${at}.${key}`),
    );
  }
  return [];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Pairs every UUID in a recorded body with the value at the same place in the emulator's body,
 * so later requests can use the emulator's ids. Ids already known keep their first pairing.
 */
export function learnIds(recorded: unknown, actual: unknown, ids: Map<string, string>): void {
  if (typeof recorded === 'string' && typeof actual === 'string') {
    if (UUID.test(recorded) && UUID.test(actual) && !ids.has(recorded)) ids.set(recorded, actual);
    return;
  }
  if (Array.isArray(recorded) && Array.isArray(actual)) {
    for (const [index, item] of recorded.entries()) learnIds(item, actual[index], ids);
    return;
  }
  if (isRecord(recorded) && isRecord(actual)) {
    for (const [key, value] of Object.entries(recorded)) learnIds(value, actual[key], ids);
  }
}

/** Replaces every recorded id in `text` by the emulator's id for it. */
export function substituteIds(text: string, ids: ReadonlyMap<string, string>): string {
  return text.replace(
    /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi,
    (id) => ids.get(id) ?? id,
  );
}
