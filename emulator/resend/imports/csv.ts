export class CsvSyntaxError extends Error {}

/**
 * Parses RFC 4180 CSV: comma separated, fields optionally in double quotes, `""` for a quote
 * inside quotes, CRLF or LF line ends, an optional UTF-8 byte order mark. Blank lines are dropped.
 */
export function parseCsv(text: string): string[][] {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let inQuotes = false;
  let index = 0;
  const endRow = () => {
    row.push(field);
    if (row.length > 1 || row[0] !== '') rows.push(row);
    row = [];
    field = '';
  };
  while (index < source.length) {
    const char = source[index];
    if (inQuotes) {
      if (char === '"' && source[index + 1] === '"') {
        field += '"';
        index += 2;
        continue;
      }
      if (char === '"') inQuotes = false;
      else field += char;
      index += 1;
      continue;
    }
    if (char === '"' && field === '') inQuotes = true;
    else if (char === ',') {
      row.push(field);
      field = '';
    } else if (char === '\n') endRow();
    else if (char !== '\r' || source[index + 1] !== '\n') field += char;
    index += 1;
  }
  if (inQuotes) throw new CsvSyntaxError('The CSV file has an unterminated quoted field.');
  if (field !== '' || row.length > 0) endRow();
  return rows;
}
