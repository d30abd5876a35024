/**
 * Arrays named by CLI flags (src/cli/matrixFiles.ts): integer embeddings read as float64, and
 * labels (integer, 1-D or N x 1, length N, 0 .. 2^31 − 1), every error one line naming the
 * command, the flag and the path.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, DomainError, NpyFormatError, ShapeError } from '../../src/core/errors.ts';
import { readLabelsFlag, readMatrixFlag } from '../../src/cli/matrixFiles.ts';
import { serializeNpy } from '../../src/io/npy.ts';

const dir = mkdtempSync(join(tmpdir(), 'contrastlab-matrixfiles-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A numpy-layout file of `descr` whose elements are written by `set` (little-endian, independent of the reader). */
function intFile(name: string, descr: string, shape: number[], size: number, values: bigint[]): string {
  const data = new Uint8Array(values.length * size);
  const dv = new DataView(data.buffer);
  values.forEach((v, i) => {
    const o = i * size;
    if (descr === '<i8') dv.setBigInt64(o, v, true);
    else if (descr === '<u8') dv.setBigUint64(o, v, true);
    else if (descr === '<i4') dv.setInt32(o, Number(v), true);
    else if (descr === '<u4') dv.setUint32(o, Number(v), true);
    else if (descr === '<i2') dv.setInt16(o, Number(v), true);
    else if (descr === '|u1') dv.setUint8(o, Number(v));
    else if (descr === '|i1') dv.setInt8(o, Number(v));
    else throw new Error(descr);
  });
  const shapeRepr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeRepr}, }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const out = new Uint8Array(10 + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(data, 10 + header.length);
  const p = join(dir, name);
  writeFileSync(p, out);
  return p;
}

function caught(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

const range = (n: number, f: (i: number) => bigint = (i) => BigInt(i % 7)): bigint[] => Array.from({ length: n }, (_, i) => f(i));

describe('readMatrixFlag: integer embeddings', () => {
  it('reads int64, int32, int16, int8 and uint8 matrices as float64 with the same values', () => {
    const v = [1n, -2n, 3n, 40n, -5n, 6n];
    for (const [descr, size, vals] of [
      ['<i8', 8, [1n, -2n, 2n ** 53n, -(2n ** 40n) - 1n, 5n, 6n]],
      ['<i4', 4, [1n, -2n, 2n ** 31n - 1n, -(2n ** 31n), 5n, 6n]],
      ['<i2', 2, v],
      ['|i1', 1, v],
      ['|u1', 1, [1n, 255n, 3n, 128n, 0n, 6n]],
      ['<u8', 8, [1n, 2n ** 53n, 3n, 4n, 0n, 6n]],
    ] as const) {
      const p = intFile(`m${descr.slice(1)}.npy`, descr, [3, 2], size, [...vals]);
      const m = readMatrixFlag('eval', p, 'u');
      expect([m.rows, m.cols], descr).toEqual([3, 2]);
      expect(m.data, descr).toBeInstanceOf(Float64Array);
      const got: number[] = [];
      for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) got.push(m.data[m.offset + i * m.rowStride + j * m.colStride]!);
      expect(got, descr).toEqual(vals.map(Number));
    }
  });

  it('an int64 beyond 2^53 is a one-line DomainError naming command, flag, path, value and position', () => {
    const p = intFile('big.npy', '<i8', [2, 3], 8, [1n, 2n, 3n, 4n, 5n, 2n ** 53n + 1n]);
    const e = caught(() => readMatrixFlag('eval', p, 'v'));
    expect(e).toBeInstanceOf(DomainError);
    expect(e.message).toBe(`contrastlab eval: --v file '${p}': V holds int64 value 9007199254740993 at index [1, 2], beyond 2^53 in magnitude: it has no exact float64 value`);
    expect(e.message).not.toContain('\n');
  });

  it('a 1-D integer array is the same shape error as a float one', () => {
    const p = intFile('oned.npy', '<i4', [4], 4, range(4));
    expect(() => readMatrixFlag('eval', p, 'u')).toThrow(ShapeError);
    expect(() => readMatrixFlag('eval', p, 'u')).toThrow(`contrastlab eval: --u file '${p}': array has shape (4,) (1-D); need a 2-D array (N rows x d columns)`);
  });

  it('bool files are refused clearly', () => {
    const p = join(dir, 'bool.npy');
    const f = intFile('tmp.npy', '|u1', [2, 1], 1, [0n, 1n]);
    const bytes = new Uint8Array(readFileSync(f));
    const text = Buffer.from(bytes).toString('latin1').replace("'|u1'", "'|b1'");
    writeFileSync(p, Buffer.from(text, 'latin1'));
    expect(() => readMatrixFlag('eval', p, 'u')).toThrow(NpyFormatError);
    expect(() => readMatrixFlag('eval', p, 'u')).toThrow("boolean dtype '|b1' is not supported");
  });
});

describe('readLabelsFlag', () => {
  it('reads int64, int32 and uint8 labels of shape (n,) or (n, 1) into an Int32Array', () => {
    const vals = [0n, 3n, 1n, 2n ** 31n - 1n, 2n];
    for (const [descr, size] of [['<i8', 8], ['<i4', 4], ['<u4', 4]] as const) {
      const y = readLabelsFlag('diagnose', intFile(`y${descr.slice(1)}.npy`, descr, [5], size, vals), 'labels', 5);
      expect(y, descr).toBeInstanceOf(Int32Array);
      expect(Array.from(y), descr).toEqual(vals.map(Number));
      const col = readLabelsFlag('diagnose', intFile(`c${descr.slice(1)}.npy`, descr, [5, 1], size, vals), 'labels', 5);
      expect(Array.from(col), descr).toEqual(vals.map(Number));
    }
    const u1 = readLabelsFlag('diagnose', intFile('y_u1.npy', '|u1', [3], 1, [255n, 0n, 7n]), 'labels', 3);
    expect(Array.from(u1)).toEqual([255, 0, 7]);
    // int64 labels read byte for byte (a wrong byte order or width would not give these).
    const wide = readLabelsFlag('diagnose', intFile('wide.npy', '<i8', [3], 8, [0x01020304n, 5n, 0x7f000001n]), 'labels', 3);
    expect(Array.from(wide)).toEqual([0x01020304, 5, 0x7f000001]);
  });

  it('a length other than N is a ShapeError naming both lengths', () => {
    const p = intFile('y1999.npy', '<i8', [1999], 8, range(1999));
    const e = caught(() => readLabelsFlag('diagnose', p, 'labels', 2000));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toBe(`contrastlab diagnose: --labels file '${p}' has 1999 labels but --u has N = 2000 rows`);
    const q = intFile('y2001.npy', '<i4', [2001, 1], 4, range(2001));
    expect(() => readLabelsFlag('diagnose', q, 'labels', 2000)).toThrow(`--labels file '${q}' has 2001 labels but --u has N = 2000 rows`);
    expect(() => readLabelsFlag('diagnose', q, 'y', 2002, 'v')).toThrow(`--y file '${q}' has 2001 labels but --v has N = 2002 rows`);
    // exactly N is fine
    expect(readLabelsFlag('diagnose', p, 'labels', 1999).length).toBe(1999);
  });

  it('other shapes are ShapeErrors naming the shape', () => {
    const p = intFile('y23.npy', '<i8', [2, 3], 8, range(6));
    expect(() => readLabelsFlag('diagnose', p, 'labels', 2)).toThrow(ShapeError);
    expect(() => readLabelsFlag('diagnose', p, 'labels', 2)).toThrow(`contrastlab diagnose: --labels file '${p}': labels must be a 1-D array of N = 2 labels (or 2 x 1), got shape (2, 3)`);
    const z = intFile('y0d.npy', '<i8', [], 8, [1n]);
    expect(() => readLabelsFlag('diagnose', z, 'labels', 1)).toThrow('got shape ()');
  });

  it('float labels are refused, naming the dtype', () => {
    const p = join(dir, 'yf.npy');
    writeFileSync(p, serializeNpy(new Float64Array([0, 1, 1]), [3]));
    const e = caught(() => readLabelsFlag('diagnose', p, 'labels', 3));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toBe(`contrastlab diagnose: --labels file '${p}': labels must be an integer array (int32, int64, uint8), got float64 '<f8'`);
    const q = join(dir, 'yf4.npy');
    writeFileSync(q, serializeNpy(new Float32Array([0, 1, 1]), [3]));
    expect(() => readLabelsFlag('diagnose', q, 'labels', 3)).toThrow("got float32 '<f4'");
  });

  it('negative labels (-1 for unlabelled) and labels over int32 are refused, naming value and index', () => {
    const p = intFile('yneg.npy', '<i8', [4], 8, [0n, 1n, -1n, 2n]);
    const e = caught(() => readLabelsFlag('diagnose', p, 'labels', 4));
    expect(e).toBeInstanceOf(DomainError);
    expect(e.message).toBe(`contrastlab diagnose: --labels file '${p}': label -1 at index 2 is negative; labels must be class indices 0, 1, 2, ... (leave unlabelled points out rather than marking them -1)`);
    const s = intFile('yneg8.npy', '|i1', [2], 1, [3n, -128n]);
    expect(() => readLabelsFlag('diagnose', s, 'labels', 2)).toThrow('label -128 at index 1 is negative');
    const big = intFile('ybig.npy', '<i8', [3], 8, [0n, 2n ** 31n, 1n]);
    expect(() => readLabelsFlag('diagnose', big, 'labels', 3)).toThrow(DomainError);
    expect(() => readLabelsFlag('diagnose', big, 'labels', 3)).toThrow(`--labels file '${big}': label 2147483648 at index 1 (int64) is over 2147483647`);
    const ubig = intFile('yubig.npy', '<u8', [2], 8, [2n ** 64n - 1n, 0n]);
    expect(() => readLabelsFlag('diagnose', ubig, 'labels', 2)).toThrow('label 18446744073709551615 at index 0 (uint64) is over 2147483647');
  });

  it('file errors name the flag and path', () => {
    const p = join(dir, 'missing.npy');
    expect(() => readLabelsFlag('diagnose', p, 'labels', 3)).toThrow(`--labels file '${p}' does not exist`);
    expect(() => readLabelsFlag('diagnose', dir, 'labels', 3)).toThrow(`--labels file '${dir}' is a directory`);
  });
});
