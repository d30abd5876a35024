/**
 * Trace serialisation: CSV (a header of the union of keys, in first-seen order) and JSON lines.
 *
 * CSV follows RFC 4180, so Python's `csv` module, pandas, R and spreadsheets read back exactly the
 * cells that were written:
 *  - a cell (header names included) is quoted iff it contains a comma, a double quote, CR or LF, or
 *    starts or ends with a space (some readers trim unquoted spaces); a quote inside is doubled;
 *  - a row that would be an empty line (one column, empty cell) is written as `""`, since readers
 *    skip blank lines (Python's csv.writer does the same);
 *  - records end with LF, not RFC 4180's CRLF (every reader above accepts both; this keeps
 *    `split('\n')` working on the output); CR and LF inside quoted cells are kept as they are;
 *  - strings are written verbatim (quoted only by the rule above), so a string that looks like a
 *    number stays as it is: CSV has no types, and the reader decides;
 *  - `undefined` and `null` are empty cells;
 *  - finite numbers use JavaScript's shortest round-trip form (`String(x)`, e.g. `0.1`, `1e-7`,
 *    `1.5e+300`), read back bit-exactly by Python's `float()` and JavaScript's `Number()`; `-0` is
 *    written as `-0` so that its sign survives;
 *  - non-finite numbers are written `NaN`, `Infinity` and `-Infinity`. Python's `float()` reads
 *    these (it is case-insensitive and takes `infinity` as well as `inf`), and so do numpy's
 *    `loadtxt`/`genfromtxt` (checked with numpy 1.24 and 2.4) and JavaScript's `Number()`;
 *    Python's own spelling (`nan`, `inf`) would not be read by `Number()`, so JavaScript's is
 *    used. The round trip through Python's csv module and float() is tested
 *    (tests/io/trace.test.ts).
 *
 * JSON lines use JSON.stringify, which writes non-finite numbers as `null`.
 */
export function traceToCsv<T extends object>(records: ReadonlyArray<T>): string {
  const rows = records as ReadonlyArray<Record<string, unknown>>;
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    for (const k of Object.keys(r)) {
      if (!seen.has(k)) {
        seen.add(k);
        keys.push(k);
      }
    }
  }
  // Own properties only: a record without `constructor` must not write Object.prototype's.
  const lines = [csvRow(keys), ...rows.map((r) => csvRow(keys.map((k) => csvCell(Object.hasOwn(r, k) ? r[k] : undefined))))];
  return lines.join('\n') + '\n';
}

/** One CSV cell's text for a value (not yet quoted). */
function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  return String(v);
}

const NEEDS_QUOTES = /[",\r\n]|^ | $/;

function quote(s: string): string {
  return NEEDS_QUOTES.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function csvRow(cells: ReadonlyArray<string>): string {
  // A lone empty cell would be a blank line, which readers skip.
  if (cells.length === 1 && cells[0] === '') return '""';
  return cells.map(quote).join(',');
}

export function traceToJsonl<T extends object>(rows: ReadonlyArray<T>): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}
