/** A compiled path pattern such as `/contacts/:contact/segments/:segmentId`. */
export interface PathPattern {
  readonly source: string;
  /** Path parameters when `path` matches, otherwise undefined. */
  match(path: string): Record<string, string> | undefined;
}

export function splitPath(path: string): string[] {
  return path.split('/').filter((segment) => segment.length > 0);
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function compilePathPattern(source: string): PathPattern {
  const patternSegments = splitPath(source);
  return {
    source,
    match(path) {
      const segments = splitPath(path);
      if (segments.length !== patternSegments.length) return undefined;
      const params: Record<string, string> = {};
      for (const [index, expected] of patternSegments.entries()) {
        const actual = decodeSegment(segments[index] ?? '');
        if (expected.startsWith(':')) {
          params[expected.slice(1)] = actual;
        } else if (expected !== actual) {
          return undefined;
        }
      }
      return params;
    },
  };
}
