/**
 * User ids as the application writes them, read as the users relation's id type reads them, so
 * `"0042"` names user 42 and an id that no value of the type is written as names nobody (instead
 * of a cast error that fails a batch). What is accepted (the API has trimmed the ids already):
 * - `smallint`, `integer`, `bigint`: decimal digits with an optional sign and leading zeros,
 *   within the type's range (Postgres 16 also reads `0x2A` and `4_2`; those name nobody here);
 * - `uuid`: 32 hex digits in either case, hyphenated as usual or not at all, optionally braced;
 * - any other type: the text exactly as the relation's `id::text` spells it.
 */

const INTEGER_RANGES: Record<string, readonly [bigint, bigint]> = {
  smallint: [-(2n ** 15n), 2n ** 15n - 1n],
  integer: [-(2n ** 31n), 2n ** 31n - 1n],
  bigint: [-(2n ** 63n), 2n ** 63n - 1n],
};

const UUID = /^([0-9a-f]{8})(-?)([0-9a-f]{4})\2([0-9a-f]{4})\2([0-9a-f]{4})\2([0-9a-f]{12})$/i;

/** Ids of this type are compared as the type (cast from their canonical text), else as text. */
export const comparedAsType = (idType: string): boolean =>
  Object.hasOwn(INTEGER_RANGES, idType) || idType === 'uuid';

/** The id as the relation's `id::text` would spell it, or null when no value is written so. */
export function idOfType(idType: string, id: string): string | null {
  const range = INTEGER_RANGES[idType];
  if (range) {
    if (!/^[+-]?\d{1,40}$/.test(id)) return null;
    const value = BigInt(id);
    return value >= range[0] && value <= range[1] ? value.toString() : null;
  }
  if (idType === 'uuid') {
    const braced = id.startsWith('{') && id.endsWith('}');
    const parts = UUID.exec(braced ? id.slice(1, -1) : id);
    if (!parts) return null;
    const [, a, , b, c, d, e] = parts;
    return [a, b, c, d, e].join('-').toLowerCase();
  }
  return id;
}

/** The ids as the relation spells them, without those no value of the type is written as. */
export const idsOfType = (idType: string, ids: string[]): string[] =>
  ids.flatMap((id) => {
    const spelled = idOfType(idType, id);
    return spelled === null ? [] : [spelled];
  });
