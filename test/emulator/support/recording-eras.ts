/**
 * The recordings span Oct–Nov 2025, and the API changed in between. The emulator follows the
 * newest behaviour; these rules bring an older recorded body up to date before comparing, and
 * each one says which change it stands for.
 */
export interface EraRule {
  name: string;
  reason: string;
  applies(recordedAt: string, method: string, path: string, body: Record<string, unknown>): boolean;
  update(body: Record<string, unknown>): Record<string, unknown>;
}

export const ERA_RULES: readonly EraRule[] = [
  {
    name: 'segments answered object "audience"',
    reason:
      'On 2025-10-17 POST/DELETE /segments still answered "object":"audience"; from 2025-10-21 on they answer "segment".',
    applies: (recordedAt, _method, path, body) =>
      recordedAt < '2025-10-21' && path.startsWith('/segments') && body.object === 'audience',
    update: (body) => ({ ...body, object: 'segment' }),
  },
  {
    name: 'contacts had no properties',
    reason:
      'GET contact answers recorded in Oct 2025 have no "properties"; since Nov 2025 they carry "properties": {}.',
    applies: (recordedAt, method, _path, body) =>
      recordedAt < '2025-11-01' &&
      method === 'GET' &&
      body.object === 'contact' &&
      !('properties' in body),
    update: (body) => ({ ...body, properties: {} }),
  },
];

/** The recorded body as the API answers today, plus the rules that were needed. */
export function modernize(
  recordedAt: string,
  method: string,
  path: string,
  body: unknown,
): { body: unknown; rules: string[] } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return { body, rules: [] };
  let current = body as Record<string, unknown>;
  const rules: string[] = [];
  for (const rule of ERA_RULES) {
    if (rule.applies(recordedAt, method, path, current)) {
      current = rule.update(current);
      rules.push(rule.name);
    }
  }
  return { body: current, rules };
}
