import { describe, expect, it } from 'vitest';
import { spreadsheetCell } from '../../../common/csv.js';

describe('spreadsheetCell', () => {
  it.each([
    ['=1+2', "'=1+2"],
    ['+cmd|x', "'+cmd|x"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tx', "'\tx"],
    ['\rx', '"\'\rx"'],
    ['=HYPERLINK("http://x","y")', '"\'=HYPERLINK(""http://x"",""y"")"'],
  ])('guards %j, which a spreadsheet would read as a formula', (value, cell) => {
    expect(spreadsheetCell(value)).toBe(cell);
  });

  it.each([
    ['12345', '12345'],
    ['-7', '-7'],
    ['-0.5', '-0.5'],
    ['p01', 'p01'],
    ['a=b', 'a=b'],
    ['a,b', '"a,b"'],
  ])('keeps %j as it is, quoted only where CSV needs it', (value, cell) => {
    expect(spreadsheetCell(value)).toBe(cell);
  });

  it('writes nothing for no value', () => {
    expect(spreadsheetCell(null)).toBe('');
  });
});
