/** One CSV cell (RFC 4180): quoted when it holds a comma, quote, CR or LF. */
export function csvCell(value: string | null): string {
  if (value === null) return '';
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** What spreadsheets start a formula with (OWASP's list for CSV injection). */
const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^-?\d+(\.\d+)?$/;

/**
 * A cell of a CSV that people open in a spreadsheet: a value that would be read as a formula
 * (`=HYPERLINK(…)`, `+1+cmd|…`, `@SUM(…)`) gets a leading apostrophe, which spreadsheets show as
 * text; a plain number such as `-5` stays as it is.
 */
export function spreadsheetCell(value: string | null): string {
  if (value === null) return '';
  const text = FORMULA_START.test(value) && !PLAIN_NUMBER.test(value) ? `'${value}` : value;
  return csvCell(text);
}
