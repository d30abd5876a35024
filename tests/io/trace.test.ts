import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { traceToCsv, traceToJsonl } from '../../src/io/trace.ts';
import { type PythonSession, startCsvReference } from '../independent/numpy.ts';

describe('traceToCsv writes RFC 4180', () => {
  it('quotes a cell iff it has a comma, quote, CR or LF, or a leading or trailing space; doubles inner quotes', () => {
    expect(traceToCsv([{ arm: 'lr "0.1", B=4', seed: 1 }])).toBe('arm,seed\n"lr ""0.1"", B=4",1\n');
    const cells = ['a,b', 'say "hi"', 'two\nlines', 'cr\r', ' lead', 'trail ', 'in side', 'back\\slash', 'é😀', '\t'];
    expect(traceToCsv(cells.map((c) => ({ c })))).toBe(
      'c\n"a,b"\n"say ""hi"""\n"two\nlines"\n"cr\r"\n" lead"\n"trail "\nin side\nback\\slash\né😀\n\t\n',
    );
  });

  it('header names are quoted by the same rule; the header is the union of keys in first-seen order', () => {
    expect(traceToCsv([{ 'a,b': 1 }, { c: 2, 'a,b': 3 }, { 'd "e"': 4 }])).toBe('"a,b",c,"d ""e"""\n1,,\n3,2,\n,,4\n');
  });

  it('strings that look like numbers stay unquoted; numbers use the shortest round-trip form', () => {
    expect(traceToCsv([{ s: '0.1', n: 0.1 }, { s: '-1e-7', n: 1e-7 }, { s: 'NaN', n: 1.5e300 }])).toBe('s,n\n0.1,0.1\n-1e-7,1e-7\nNaN,1.5e+300\n');
  });

  it('non-finite numbers are NaN, Infinity, -Infinity; -0 keeps its sign; undefined and null are empty', () => {
    expect(traceToCsv([{ a: NaN, b: Infinity, c: -Infinity, d: -0, e: 0, f: undefined, g: null }])).toBe('a,b,c,d,e,f,g\nNaN,Infinity,-Infinity,-0,0,,\n');
  });

  it('a key a record lacks is an empty cell, even one Object.prototype has', () => {
    expect(traceToCsv<Record<string, number>>([{ a: 1 }, { constructor: 2, toString: 3 }])).toBe('a,constructor,toString\n1,,\n,2,3\n');
  });

  it('a lone empty cell is written "" so that the row is not a blank line', () => {
    expect(traceToCsv([{ a: '' }, { a: 1 }, { a: undefined }])).toBe('a\n""\n1\n""\n');
    expect(traceToCsv([{ a: '', b: '' }])).toBe('a,b\n,\n');
  });

  it('traceToJsonl: one JSON object per line', () => {
    expect(traceToJsonl([{ a: 1 }, { b: 'x\ny' }])).toBe('{"a":1}\n{"b":"x\\ny"}\n');
    expect(traceToJsonl([])).toBe('');
  });
});

/** What Python's float() made of a cell, as repr (shortest round-trip), in JavaScript. */
function pyFloat(repr: string | null): number | undefined {
  if (repr === null) return undefined;
  return repr === 'nan' ? NaN : repr === 'inf' ? Infinity : repr === '-inf' ? -Infinity : Number(repr);
}

interface Read {
  rows: string[][];
  floats: (string | null)[][];
}

// Python's csv module is the independent reader: one python process (csv_reference.py --serve)
// answers every case of this file. Outside CI the tests skip when /usr/bin/python3 is missing.
describe("Python's csv module reads back exactly what traceToCsv wrote", () => {
  let py: PythonSession | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'contrastlab-trace-'));
  let n = 0;
  const read = async (csv: string): Promise<Read> => {
    const path = join(dir, `${n++ % 2}.csv`);
    writeFileSync(path, csv, 'utf8');
    return py!.request<Read>({ op: 'read_csv', path });
  };

  beforeAll(async () => {
    py = await startCsvReference();
  }, 60_000);
  afterAll(async () => {
    await py?.close();
  }, 60_000);

  /** Checks Python's reading of traceToCsv(records) cell by cell. */
  async function roundTrip(records: Record<string, unknown>[]): Promise<void> {
    const header: string[] = [];
    for (const r of records) for (const k of Object.keys(r)) if (!header.includes(k)) header.push(k);
    const got = await read(traceToCsv(records));
    if (header.length === 0) {
      // No columns: the header and every record are empty lines, which csv.reader gives as [].
      expect(got.rows).toEqual(Array.from({ length: records.length + 1 }, () => []));
      return;
    }
    expect(got.rows[0]).toEqual(header);
    expect(got.rows.length).toBe(records.length + 1);
    records.forEach((r, i) => {
      const row = got.rows[i + 1]!;
      expect(row.length, `row ${i}`).toBe(header.length);
      header.forEach((k, j) => {
        const v = Object.hasOwn(r, k) ? r[k] : undefined;
        const cell = row[j]!;
        if (typeof v === 'number') {
          // Both Python's float() and JavaScript's Number() give back the very same number.
          expect(Object.is(pyFloat(got.floats[i + 1]![j]!), v), `float(${JSON.stringify(cell)}) for ${v}`).toBe(true);
          expect(Object.is(Number(cell), v), `Number(${JSON.stringify(cell)}) for ${v}`).toBe(true);
        } else {
          expect(cell).toBe(v === undefined || v === null ? '' : String(v));
        }
      });
    });
  }

  // Fails on the former JSON-style escaping: the quote+comma arm came back as several cells, the
  // newline as the two characters \n, the backslash doubled, the header name split in two.
  it('named cases: quotes and commas, newlines, backslashes, spaces, unicode, numbers and non-finite numbers', async ({ skip }) => {
    if (!py) return skip('/usr/bin/python3 is not installed');
    const got = await read(traceToCsv([{ arm: 'lr "0.1", B=4', seed: 1 }]));
    expect(got.rows).toEqual([['arm', 'seed'], ['lr "0.1", B=4', '1']]);
    await roundTrip([
      { arm: 'lr "0.1", B=4', seed: 1, loss: 0.1 },
      { arm: 'two\nlines', seed: 2, loss: NaN },
      { arm: 'back\\slash', seed: 3, loss: Infinity },
      { arm: ' padded ', seed: 4, loss: -Infinity },
      { arm: 'crlf\r\nhere', seed: -0, loss: 5e-324 },
      { arm: 'é 😀 \u2028', seed: 1.7976931348623157e308, loss: 1e-7 },
      { arm: '0.1', seed: 0 },
      { arm: '', 'a,b': 'x' },
    ]);
  });

  it('property: arbitrary strings (unicode, quotes, commas, CR/LF), numbers and missing values round-trip', async ({ skip }) => {
    if (!py) return skip('/usr/bin/python3 is not installed');
    const tricky = fc.constantFrom(',', '"', '""', '\r', '\n', '\r\n', ' ', '\t', '\\', "'", 'a', '1', '.', 'e', '-', '+', 'é', '😀', '\u2028', '\u0000', '\ufeff');
    const text = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.string({ unit: tricky }),
      fc.double().map(String), // strings that look like numbers
      fc.constantFrom('', ' ', 'NaN', 'nan', 'inf', '-0', '1e5', ' 1', '1 ', '__proto__', 'constructor', 'toString'),
    );
    const value = fc.oneof(text, fc.double(), fc.integer(), fc.constant(undefined), fc.constant(null));
    const records = fc.uniqueArray(text, { minLength: 1, maxLength: 5 }).chain((keys) =>
      fc.array(
        fc.tuple(fc.array(value, { minLength: keys.length, maxLength: keys.length }), fc.array(fc.boolean(), { minLength: keys.length, maxLength: keys.length })),
        { maxLength: 6 },
      ).map((rows) =>
        // Object.fromEntries defines own properties, so even a key named __proto__ is a plain field.
        rows.map(([vals, present]) => Object.fromEntries(keys.flatMap((k, j) => (present[j] ? [[k, vals[j]]] : [])))),
      ),
    );
    await fc.assert(
      fc.asyncProperty(records, async (recs) => {
        await roundTrip(recs);
      }),
      { numRuns: 400 },
    );
  }, 120_000);
});
