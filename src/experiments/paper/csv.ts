/**
 * Tables as CSV (RFC 4180): a header row of the column names, one line per row; a field holding a
 * comma, a double quote, a line break or leading/trailing space is quoted, its quotes doubled.
 * Numbers are written as JavaScript writes them (they read back exactly); NaN and infinities, which
 * mean "no value", as empty fields.
 */
import type { Interval } from './stats';
import type { Table } from './types';

/**
 * A number as the tables write it: 6 significant digits; NaN (no value) stays NaN, an empty field.
 *
 * @example
 * tableNumber(2 / 3); // 0.666667
 */
export const tableNumber = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(6)) : NaN);

/**
 * An interval as three table cells: its mean, lower and upper end (`tableNumber`).
 *
 * @example
 * intervalCells(meanInterval([1, 2, 3])); // [2, -0.484138, 4.48414]
 */
export const intervalCells = (i: Interval): number[] => [i.mean, i.lo, i.hi].map(tableNumber);

/**
 * One CSV field.
 *
 * @example
 * csvField('a,b'); // '"a,b"'
 * csvField('say "hi"'); // '"say ""hi"""'
 * csvField(0.1); // '0.1'
 */
export function csvField(value: string | number): string {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * The table as CSV text, each line ending in `\n`.
 *
 * @example
 * tableToCsv({ id: 't', title: 'T', columns: ['env', 'auc'], rows: [['Pendulum', 0.5]] }); // 'env,auc\nPendulum,0.5\n'
 */
export function tableToCsv(table: Table): string {
  return [table.columns, ...table.rows].map((row) => `${row.map(csvField).join(',')}\n`).join('');
}

/**
 * CSV text back to rows of strings (quoted fields unquoted; `\r\n` or `\n` line ends).
 *
 * @example
 * parseCsv('a,"b,c"\n1,"say ""hi"""\n'); // [['a', 'b,c'], ['1', 'say "hi"']]
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const endField = () => {
    row.push(field);
    field = '';
  };
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
      } else if (c === '"') {
        quoted = false;
        i++;
      } else {
        field += c;
        i++;
      }
    } else if (c === '"') {
      quoted = true;
      i++;
    } else if (c === ',') {
      endField();
      i++;
    } else if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
      endField();
      rows.push(row);
      row = [];
      i += c === '\r' ? 2 : 1;
    } else {
      field += c;
      i++;
    }
  }
  if (field.length > 0 || row.length > 0) {
    endField();
    rows.push(row);
  }
  return rows;
}
