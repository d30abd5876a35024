/**
 * Integer `.npy` arrays (parseNpyAny, readNpyAnyFileSync, intNpyToFloat64). The fixtures are built
 * byte by byte with DataView's little-endian setters, independently of the reader, in the layout
 * numpy's `np.save` writes (sorted keys, 21-digit growth padding, 64-byte alignment).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CapExceededError, DomainError, NpyFormatError } from '../../src/core/errors.ts';
import {
  type IntDType,
  decodeLittleEndianInt,
  intNpyToFloat64,
  npyIndexStr,
  parseNpy,
  parseNpyAny,
  readNpyAnyFileSync,
  readNpyFileSync,
  serializeNpy,
} from '../../src/io/npy.ts';

const SEED = 20261206;

interface IntCase {
  dtype: IntDType;
  descr: string;
  size: number;
  ctor: new (n: number) => ArrayLike<number | bigint>;
  set: (dv: DataView, off: number, v: bigint) => void;
  min: bigint;
  max: bigint;
}

const CASES: IntCase[] = [
  { dtype: 'i1', descr: '|i1', size: 1, ctor: Int8Array, set: (dv, o, v) => dv.setInt8(o, Number(v)), min: -128n, max: 127n },
  { dtype: 'i2', descr: '<i2', size: 2, ctor: Int16Array, set: (dv, o, v) => dv.setInt16(o, Number(v), true), min: -(2n ** 15n), max: 2n ** 15n - 1n },
  { dtype: 'i4', descr: '<i4', size: 4, ctor: Int32Array, set: (dv, o, v) => dv.setInt32(o, Number(v), true), min: -(2n ** 31n), max: 2n ** 31n - 1n },
  { dtype: 'i8', descr: '<i8', size: 8, ctor: BigInt64Array, set: (dv, o, v) => dv.setBigInt64(o, v, true), min: -(2n ** 63n), max: 2n ** 63n - 1n },
  { dtype: 'u1', descr: '|u1', size: 1, ctor: Uint8Array, set: (dv, o, v) => dv.setUint8(o, Number(v)), min: 0n, max: 255n },
  { dtype: 'u2', descr: '<u2', size: 2, ctor: Uint16Array, set: (dv, o, v) => dv.setUint16(o, Number(v), true), min: 0n, max: 2n ** 16n - 1n },
  { dtype: 'u4', descr: '<u4', size: 4, ctor: Uint32Array, set: (dv, o, v) => dv.setUint32(o, Number(v), true), min: 0n, max: 2n ** 32n - 1n },
  { dtype: 'u8', descr: '<u8', size: 8, ctor: BigUint64Array, set: (dv, o, v) => dv.setBigUint64(o, v, true), min: 0n, max: 2n ** 64n - 1n },
];

const list = (a: ArrayLike<number | bigint>): (number | bigint)[] => Array.from(a);
const bigs = (a: ArrayLike<number | bigint>): bigint[] => Array.from(a, (v) => BigInt(v));

function payload(c: IntCase, values: bigint[]): Uint8Array {
  const out = new Uint8Array(values.length * c.size);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => c.set(dv, i * c.size, v));
  return out;
}

/** The bytes np.save writes for `shape` of `descr` (format `version`). */
function npyFile(descr: string, shape: number[], data: Uint8Array, version = 1): Uint8Array {
  const shapeRepr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeRepr}, }`;
  if (shape.length > 0) header += ' '.repeat(Math.max(0, 21 - String(shape[0]).length));
  const lenBytes = version === 1 ? 2 : 4;
  const hlen = header.length + 1;
  header += ' '.repeat(64 - ((8 + lenBytes + hlen) % 64)) + '\n';
  const out = new Uint8Array(8 + lenBytes + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(out.buffer);
  if (lenBytes === 2) dv.setUint16(8, header.length, true);
  else dv.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[8 + lenBytes + i] = header.charCodeAt(i);
  out.set(data, 8 + lenBytes + header.length);
  return out;
}

/** Values that tell a wrong width, sign or byte order apart: extremes, ±1, and asymmetric bytes. */
function telling(c: IntCase): bigint[] {
  const cands = [c.min, c.max, 0n, 1n, -1n, 2n, 0x0102n, 0x01020304n, 0x0102030405060708n, -0x0102030405060708n, 2n ** 32n + 5n, 2n ** 53n + 1n, 300n, 200n];
  return cands.filter((v) => v >= c.min && v <= c.max);
}

function expectIntError(bytes: Uint8Array, ...fragments: string[]): void {
  let caught: unknown;
  try {
    parseNpyAny(bytes);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(NpyFormatError);
  for (const f of fragments) expect((caught as Error).message).toContain(f);
}

describe('parseNpyAny: integer dtypes', () => {
  for (const c of CASES) {
    for (const version of [1, 2, 3]) {
      it(`reads ${c.descr} (${c.dtype}), version ${version}.0, exactly`, () => {
        const values = telling(c);
        const bytes = npyFile(c.descr, [values.length], payload(c, values), version);
        const r = parseNpyAny(bytes);
        expect(r.kind).toBe('int');
        if (r.kind !== 'int') return;
        expect(r.array.dtype).toBe(c.dtype);
        expect(r.array.shape).toEqual([values.length]);
        expect(r.array.data).toBeInstanceOf(c.ctor);
        expect(bigs(r.array.data)).toEqual(values);
      });
    }
  }

  it('reads 2-D and 0-D integer arrays, and the 1-byte dtypes spelled with <', () => {
    const i8 = CASES.find((c) => c.dtype === 'i8')!;
    const r = parseNpyAny(npyFile('<i8', [2, 3], payload(i8, [1n, -2n, 3n, 2n ** 40n, 5n, -(2n ** 40n)])));
    expect(r.kind === 'int' && r.array.shape).toEqual([2, 3]);
    expect(r.kind === 'int' && Array.from(r.array.data as BigInt64Array)).toEqual([1n, -2n, 3n, 2n ** 40n, 5n, -(2n ** 40n)]);
    const z = parseNpyAny(npyFile('<i4', [], Uint8Array.of(7, 0, 0, 0)));
    expect(z.kind === 'int' && z.array.shape).toEqual([]);
    expect(z.kind === 'int' && list(z.array.data)).toEqual([7]);
    const u = parseNpyAny(npyFile('<u1', [2], Uint8Array.of(255, 3)));
    expect(u.kind === 'int' && u.array.dtype).toBe('u1');
    expect(u.kind === 'int' && list(u.array.data)).toEqual([255, 3]);
    const s = parseNpyAny(npyFile('<i1', [2], Uint8Array.of(255, 3)));
    expect(s.kind === 'int' && list(s.array.data)).toEqual([-1, 3]);
  });

  it('float files come back as kind float, equal to parseNpy', () => {
    const bytes = serializeNpy(new Float64Array([1.5, -2]), [1, 2]);
    const r = parseNpyAny(bytes);
    expect(r.kind).toBe('float');
    expect(r.kind === 'float' && r.array).toEqual(parseNpy(bytes));
  });

  it('refuses bool, big-endian and other dtypes clearly, listing the integer dtypes it reads', () => {
    const one = new Uint8Array(8);
    expectIntError(npyFile('|b1', [8], one), "boolean dtype '|b1' is not supported; save it as integers (a.astype(np.int64))");
    expectIntError(npyFile('>i4', [2], one), "big-endian dtype '>i4' (signed integer, 4 bytes) is not supported", "int64 '<i8'", "uint8 '|u1'");
    expectIntError(npyFile('>u8', [1], one), "big-endian dtype '>u8'");
    expectIntError(npyFile('=i4', [2], one), "dtype '=i4' with byte order '=' is not supported");
    expectIntError(npyFile('<i16', [1], new Uint8Array(16)), "dtype '<i16' (signed integer, 16 bytes) is not supported");
    expectIntError(npyFile('<f2', [4], one), "dtype '<f2' (float16, half precision) is not supported", "int32 '<i4'");
    expectIntError(npyFile('|O', [1], one), "object dtype '|O' is not supported");
  });

  it('checks the data size with the integer item size', () => {
    expectIntError(npyFile('<i8', [3], new Uint8Array(23)), 'truncated data: shape (3,) of <i8 needs 24 bytes but 23 follow the header');
    expectIntError(npyFile('<i4', [3], new Uint8Array(24)), '12 trailing bytes: shape (3,) of <i4 needs 12 bytes but 24');
    expectIntError(npyFile('|u1', [2, 2], new Uint8Array(5)), '1 trailing bytes: shape (2, 2) of |u1 needs 4 bytes');
  });

  it('the float-only readers still refuse integer files, pointing at the Any readers', () => {
    expect(() => parseNpy(npyFile('<i8', [1], new Uint8Array(8)))).toThrow("integer dtype '<i8' (int64) is not read as floats");
    expect(() => parseNpy(npyFile('<i8', [1], new Uint8Array(8)))).toThrow('parseNpyAny / readNpyAnyFileSync');
  });

  test.prop(
    [fc.constantFrom(...CASES), fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }), { maxLength: 20 }), fc.integer({ min: 0, max: 7 })],
    { seed: SEED, numRuns: 200 },
  )('any values round-trip from numpy bytes, at any offset in a shared buffer', (c, raw, shift) => {
    const values = raw.map((v) => (v < c.min || v > c.max ? BigInt.asIntN(c.size * 8, v) : v)).filter((v) => v >= c.min && v <= c.max);
    const file = npyFile(c.descr, [values.length], payload(c, values));
    const host = new Uint8Array(file.length + 8);
    host.set(file, shift);
    const r = parseNpyAny(host.subarray(shift, shift + file.length));
    expect(r.kind === 'int' && bigs(r.array.data)).toEqual(values);
  });

  it('the big-endian-host decoding path gives the same values', () => {
    for (const c of CASES) {
      const values = telling(c);
      const bytes = new Uint8Array(3 + values.length * c.size);
      bytes.set(payload(c, values), 3);
      for (const host of [false, true]) {
        const got = decodeLittleEndianInt(bytes, 3, values.length, c.dtype, host);
        expect(got, `${c.dtype} host LE ${host}`).toBeInstanceOf(c.ctor);
        expect(bigs(got), `${c.dtype} host LE ${host}`).toEqual(values);
      }
    }
  });
});

describe('intNpyToFloat64', () => {
  const i8 = CASES.find((c) => c.dtype === 'i8')!;
  const u8 = CASES.find((c) => c.dtype === 'u8')!;
  const read = (c: IntCase, shape: number[], values: bigint[]) => {
    const r = parseNpyAny(npyFile(c.descr, shape, payload(c, values)));
    if (r.kind !== 'int') throw new Error('expected an int array');
    return r.array;
  };

  it('converts exactly up to 2^53 in magnitude', () => {
    const v = [2n ** 53n, -(2n ** 53n), 2n ** 53n - 1n, 0n, -7n, 2n ** 40n + 3n];
    expect(Array.from(intNpyToFloat64(read(i8, [2, 3], v), 'op'))).toEqual(v.map(Number));
    for (const c of CASES) {
      const vals = telling(c).filter((x) => x <= 2n ** 53n && x >= -(2n ** 53n));
      expect(Array.from(intNpyToFloat64(read(c, [vals.length], vals), 'op')), c.dtype).toEqual(vals.map(Number));
    }
  });

  it('refuses an int64 / uint64 beyond 2^53, naming the value and its position', () => {
    const a = read(i8, [2, 3], [1n, 2n, 3n, 4n, -(2n ** 53n) - 1n, 6n]);
    expect(() => intNpyToFloat64(a, 'op', 'U')).toThrow(DomainError);
    expect(() => intNpyToFloat64(a, 'op', 'U')).toThrow('op: U holds int64 value -9007199254740993 at index [1, 1], beyond 2^53 in magnitude');
    const b = read(u8, [3], [0n, 2n ** 63n, 1n]);
    expect(() => intNpyToFloat64(b, 'op', 'V')).toThrow('V holds uint64 value 9223372036854775808 at index [1], beyond 2^53');
  });

  it('npyIndexStr is the row-major multi-index', () => {
    expect(npyIndexStr([2, 3], 4)).toBe('[1, 1]');
    expect(npyIndexStr([2, 3, 4], 23)).toBe('[1, 2, 3]');
    expect(npyIndexStr([5], 3)).toBe('[3]');
    expect(npyIndexStr([], 0)).toBe('[]');
  });
});

describe('readNpyAnyFileSync', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'contrastlab-npyint-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads integer files with the same checks as the float reader', async () => {
    const i8 = CASES.find((c) => c.dtype === 'i8')!;
    const p = join(dir, 'y.npy');
    const values = [3n, -(2n ** 62n), 0x0102030405060708n, 7n];
    await writeFile(p, npyFile('<i8', [4], payload(i8, values)));
    const r = readNpyAnyFileSync(p);
    expect(r.kind).toBe('int');
    expect(r.kind === 'int' && r.array.data).toBeInstanceOf(BigInt64Array);
    expect(r.kind === 'int' && list(r.array.data)).toEqual(values);

    const u = join(dir, 'u.npy');
    await writeFile(u, npyFile('|u1', [2, 2], Uint8Array.of(1, 255, 0, 9)));
    const ru = readNpyAnyFileSync(u);
    expect(ru.kind === 'int' && ru.array.dtype).toBe('u1');
    expect(ru.kind === 'int' && list(ru.array.data)).toEqual([1, 255, 0, 9]);

    const f = join(dir, 'f.npy');
    await writeFile(f, serializeNpy(new Float32Array([0.5]), [1]));
    expect(readNpyAnyFileSync(f)).toEqual({ kind: 'float', array: readNpyFileSync(f) });
  });

  it('reads an integer file over 2 GiB (chunked) when the budget allows', async () => {
    // (2**28 + 2**20,) int64 = 2.008 GiB, sparse on disk: zeros except a first and last value.
    const n = 2 ** 28 + 2 ** 20;
    const head = npyFile('<i8', [n], new Uint8Array(0));
    const p = join(dir, 'big.npy');
    const { closeSync, openSync, writeSync } = await import('node:fs');
    const fd = openSync(p, 'w');
    writeSync(fd, head);
    const first = Buffer.alloc(8);
    first.writeBigInt64LE(-(2n ** 62n) + 3n);
    writeSync(fd, first, 0, 8, head.length);
    const last = Buffer.alloc(8);
    last.writeBigInt64LE(0x0102030405060708n);
    writeSync(fd, last, 0, 8, head.length + (n - 1) * 8);
    closeSync(fd);
    const prev = process.env.CONTRASTLAB_MEMORY_BUDGET;
    process.env.CONTRASTLAB_MEMORY_BUDGET = '3GiB';
    try {
      const r = readNpyAnyFileSync(p);
      if (r.kind !== 'int') throw new Error('expected an int array');
      expect(r.array.shape).toEqual([n]);
      expect(r.array.data[0]).toBe(-(2n ** 62n) + 3n);
      expect(r.array.data[1]).toBe(0n);
      expect(r.array.data[n - 1]).toBe(0x0102030405060708n);
    } finally {
      if (prev === undefined) delete process.env.CONTRASTLAB_MEMORY_BUDGET;
      else process.env.CONTRASTLAB_MEMORY_BUDGET = prev;
    }
  }, 120_000);

  it('refuses short, long and oversized integer files naming the path', async () => {
    const short = join(dir, 'short.npy');
    await writeFile(short, npyFile('<i4', [3], new Uint8Array(11)));
    expect(() => readNpyAnyFileSync(short)).toThrow(`readNpy: ${short}: truncated data: shape (3,) of <i4 needs 12 bytes but 11 follow the header`);
    const long = join(dir, 'long.npy');
    await writeFile(long, npyFile('<u2', [1], new Uint8Array(4)));
    expect(() => readNpyAnyFileSync(long)).toThrow(`readNpy: ${long}: 2 trailing bytes: shape (1,) of <u2 needs 2 bytes`);
    const huge = join(dir, 'huge.npy');
    // 2^34 int64 labels declared (128 GiB); a sparse file of that size, so the size check passes and the budget refuses.
    const head = npyFile('<i8', [2 ** 34], new Uint8Array(0));
    await writeFile(huge, head);
    const { truncateSync } = await import('node:fs');
    truncateSync(huge, head.length + 2 ** 37);
    expect(() => readNpyAnyFileSync(huge)).toThrow(CapExceededError);
    expect(() => readNpyAnyFileSync(huge)).toThrow(/the array of shape \(17179869184,\) \(<i8\) needs 128\.0 GiB, over the memory budget/);
    const b1 = join(dir, 'b.npy');
    await writeFile(b1, npyFile('|b1', [2], Uint8Array.of(0, 1)));
    expect(() => readNpyAnyFileSync(b1)).toThrow(`readNpy: ${b1}: boolean dtype '|b1' is not supported`);
  });
});
