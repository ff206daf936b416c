/** How the benchmarks print what they measured: aligned tables, or one JSON object a line. */

export const round = (value: number, digits = 2) => Number(value.toFixed(digits));

export const formatRecord = (record: Record<string, unknown>) =>
  Object.entries(record)
    .map(([key, value]) => `${key}=${value}`)
    .join('  ');

export function printRows(rows: object[], json: boolean): void {
  if (json) {
    for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
  } else {
    console.table(rows);
  }
}
