import { isValidEmail } from '../../common/email.js';
import type { ContactInput, PropertyValue } from '../store/records.js';

export type ImportPropertyType = 'string' | 'number' | 'boolean';

/** Contact field → CSV column name, as sent in `column_map`. */
export interface ImportColumnMap {
  email?: string | undefined;
  first_name?: string | undefined;
  last_name?: string | undefined;
  unsubscribed?: string | undefined;
  properties?:
    | Record<string, { column: string; type?: ImportPropertyType | undefined }>
    | undefined;
}

/** Turns one CSV row into a contact write, or a reason the row fails. */
export type RowReader = (cells: readonly string[]) => ContactInput | undefined;

export class ImportLayoutError extends Error {}

const BOOLEAN_WORDS = new Map([
  ['true', true],
  ['1', true],
  ['yes', true],
  ['false', false],
  ['0', false],
  ['no', false],
]);

function parseBoolean(cell: string): boolean | undefined {
  return BOOLEAN_WORDS.get(cell.trim().toLowerCase());
}

function parseProperty(cell: string, type: ImportPropertyType): PropertyValue | undefined {
  if (type === 'string') return cell;
  if (type === 'boolean') return parseBoolean(cell);
  const value = Number(cell);
  return cell.trim() !== '' && Number.isFinite(value) ? value : undefined;
}

/**
 * Builds a row reader from the header row. Without a column map, the columns named `email`,
 * `first_name`, `last_name` and `unsubscribed` (any case) are used.
 */
export function createRowReader(
  header: readonly string[],
  map: ImportColumnMap | undefined,
): RowReader {
  const positions = new Map(header.map((name, index) => [name.trim().toLowerCase(), index]));
  const column = (name: string | undefined, required: boolean): number | undefined => {
    if (name === undefined) return undefined;
    const index = positions.get(name.trim().toLowerCase());
    if (index === undefined && required) {
      throw new ImportLayoutError(`The CSV file has no column named "${name}".`);
    }
    return index;
  };
  const explicit = map !== undefined;
  const emailAt = column(map?.email ?? 'email', true) ?? 0;
  const firstNameAt = column(map?.first_name ?? (explicit ? undefined : 'first_name'), explicit);
  const lastNameAt = column(map?.last_name ?? (explicit ? undefined : 'last_name'), explicit);
  const unsubscribedAt = column(
    map?.unsubscribed ?? (explicit ? undefined : 'unsubscribed'),
    explicit,
  );
  const propertyColumns = Object.entries(map?.properties ?? {}).map(([key, mapping]) => ({
    key,
    type: mapping.type ?? 'string',
    at: column(mapping.column, true) ?? 0,
  }));

  return (cells) => {
    const email = (cells[emailAt] ?? '').trim();
    if (!isValidEmail(email)) return undefined;
    const input: ContactInput = { email };
    const text = (at: number | undefined) => (at === undefined ? undefined : (cells[at] ?? ''));
    const firstName = text(firstNameAt);
    if (firstName !== undefined) input.firstName = firstName === '' ? null : firstName;
    const lastName = text(lastNameAt);
    if (lastName !== undefined) input.lastName = lastName === '' ? null : lastName;
    const unsubscribed = text(unsubscribedAt);
    if (unsubscribed !== undefined && unsubscribed.trim() !== '') {
      const parsed = parseBoolean(unsubscribed);
      if (parsed === undefined) return undefined;
      input.unsubscribed = parsed;
    }
    if (propertyColumns.length > 0) {
      const properties: Record<string, PropertyValue> = {};
      for (const property of propertyColumns) {
        const cell = cells[property.at] ?? '';
        if (cell === '') continue;
        const value = parseProperty(cell, property.type);
        if (value === undefined) return undefined;
        properties[property.key] = value;
      }
      input.properties = properties;
    }
    return input;
  };
}
