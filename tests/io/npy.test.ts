/**
 * `.npy` read / write.
 *
 * numpy is not installed on the machine these tests were written on (`/usr/bin/python3 -c
 * 'import numpy'` fails), so the "numpy" fixtures below are built byte by byte, following
 * numpy.lib.format's writer (`_write_array_header` / `_wrap_header`, as in recent numpy: sorted keys,
 * 21-digit growth padding on the first axis, spaces to a 64-byte boundary, '\n'), plus one
 * older-style header (16-byte alignment, no growth padding) written out literally.
 */
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, NpyFormatError, ShapeError } from '../../src/core/errors.ts';
import { block, matrix, toRows, transpose, rowRange, zeros } from '../../src/core/matrix.ts';
import {
  NPY_ALIGN,
  type NpyArray,
  decodeLittleEndian,
  matrixToNpy,
  npyToMatrix,
  parseNpy,
  parsePyLiteral,
  readNpyFile,
  serializeNpy,
  writeNpyFile,
} from '../../src/io/npy.ts';

const SEED = 20261122;

// ---------------------------------------------------------------------------------------------
// Byte-level builders (independent of the code under test)
// ---------------------------------------------------------------------------------------------

function f64le(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const dv = new DataView(out.buffer);
  values.forEach((x, i) => dv.setFloat64(8 * i, x, true));
  return out;
}

function f32le(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const dv = new DataView(out.buffer);
  values.forEach((x, i) => dv.setFloat32(4 * i, x, true));
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function latin1(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => {
    const code = c.charCodeAt(0);
    if (code > 0xff) throw new Error('not latin1');
    return code;
  });
}

interface RawNpy {
  version?: number;
  minor?: number;
  /** Header text, without padding unless `pad` is false (then it is written exactly). */
  header: string;
  data?: Uint8Array;
  /** Pad like numpy: spaces to a multiple of `align`, then '\n'. Default true. */
  pad?: boolean;
  align?: number;
  /** Write this value in the length field instead of the real header length. */
  headerLen?: number;
}

/** A `.npy` file assembled from parts, the way numpy's `_wrap_header` does it. */
function rawNpy({ version = 1, minor = 0, header, data = new Uint8Array(0), pad = true, align = 64, headerLen }: RawNpy): Uint8Array {
  let hb = version === 3 ? new TextEncoder().encode(header) : latin1(header);
  const lenBytes = version === 1 ? 2 : 4;
  if (pad) {
    const hlen = hb.length + 1;
    const padlen = align - ((8 + lenBytes + hlen) % align);
    hb = concat(hb, new Uint8Array(padlen).fill(0x20), Uint8Array.of(0x0a));
  }
  const prefix = new Uint8Array(8 + lenBytes);
  prefix.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, minor]);
  const dv = new DataView(prefix.buffer);
  if (lenBytes === 2) dv.setUint16(8, headerLen ?? hb.length, true);
  else dv.setUint32(8, headerLen ?? hb.length, true);
  return concat(prefix, hb, data);
}

/** numpy's header dict text for a simple dtype (keys sorted, growth padding on axis 0 / -1). */
function numpyHeader(descr: string, fortran: boolean, shape: number[]): string {
  const shapeRepr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const h = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shapeRepr}, }`;
  if (shape.length === 0) return h;
  const axis = fortran ? shape[shape.length - 1]! : shape[0]!;
  return h + ' '.repeat(Math.max(0, 21 - String(axis).length));
}

/** A file numpy would write for `shape` of `descr` with the given payload. */
function numpyFile(descr: string, shape: number[], data: Uint8Array, version = 1, fortran = false): Uint8Array {
  return rawNpy({ version, header: numpyHeader(descr, fortran, shape), data });
}

function headerLenField(bytes: Uint8Array): { version: number; dataOffset: number } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = bytes[6]!;
  const len = version === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  return { version, dataOffset: (version === 1 ? 10 : 12) + len };
}

function expectNpyError(bytes: Uint8Array, ...fragments: string[]): void {
  let caught: unknown;
  try {
    parseNpy(bytes);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(NpyFormatError);
  const msg = (caught as Error).message;
  expect(msg.startsWith('readNpy: ')).toBe(true);
  for (const f of fragments) expect(msg).toContain(f);
}

/** Bit-exact equality of two float arrays (NaN payloads not compared: any NaN equals any NaN). */
function expectSameFloats(a: ArrayLike<number>, b: ArrayLike<number>): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(x)) expect(Number.isNaN(y)).toBe(true);
    else if (!Object.is(x, y)) expect.fail(`element ${i}: ${Object.is(x, -0) ? '-0' : x} !== ${Object.is(y, -0) ? '-0' : y}`);
  }
}

// ---------------------------------------------------------------------------------------------
// numpy-format fixtures
// ---------------------------------------------------------------------------------------------

describe('numpy fixtures (built byte by byte)', () => {
  it('serializeNpy writes exactly what np.save writes for a 2x3 float64 array', () => {
    // np.save(f, np.array([[1., 2., 3.], [4., 5., 6.]])) with recent numpy: a 128-byte header,
    // length field 118 = 0x76 ('v').
    const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }" + ' '.repeat(58) + '\n';
    const expected = concat(latin1('\x93NUMPY\x01\x00v\x00' + header), f64le([1, 2, 3, 4, 5, 6]));
    expect(expected.length).toBe(128 + 48);
    const bytes = serializeNpy(new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    expect(Buffer.from(bytes).equals(Buffer.from(expected))).toBe(true);
    const arr = parseNpy(expected);
    expect(arr.dtype).toBe('f64');
    expect(arr.shape).toEqual([2, 3]);
    expect(Array.from(arr.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('reads an old-style header (older numpy: 16-byte alignment, no growth padding, data at byte 80)', () => {
    const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }" + ' '.repeat(10) + '\n';
    const bytes = concat(latin1('\x93NUMPY\x01\x00F\x00' + header), f64le([6, 5, 4, 3, 2, 1]));
    expect(headerLenField(bytes).dataOffset).toBe(80);
    const arr = parseNpy(bytes);
    expect(arr.shape).toEqual([2, 3]);
    expect(Array.from(arr.data)).toEqual([6, 5, 4, 3, 2, 1]);
  });

  const cases: { name: string; descr: string; shape: number[]; values: number[] }[] = [
    { name: 'f8 2-D', descr: '<f8', shape: [3, 2], values: [0.5, -1, 1e300, -1e-300, Math.PI, 0] },
    { name: 'f4 2-D', descr: '<f4', shape: [2, 2], values: [1.5, -2.25, 3.0517578125e-5, 65504] },
    { name: 'f8 1-D', descr: '<f8', shape: [5], values: [1, 2, 3, 4, 5] },
    { name: 'f8 0-D', descr: '<f8', shape: [], values: [42] },
    { name: 'f8 3-D', descr: '<f8', shape: [2, 1, 3], values: [1, 2, 3, 4, 5, 6] },
    { name: 'f4 empty (0, 3)', descr: '<f4', shape: [0, 3], values: [] },
    { name: 'f8 empty (4, 0)', descr: '<f8', shape: [4, 0], values: [] },
  ];
  for (const version of [1, 2, 3]) {
    for (const c of cases) {
      it(`reads ${c.name}, version ${version}.0`, () => {
        const payload = c.descr === '<f8' ? f64le(c.values) : f32le(c.values);
        const bytes = numpyFile(c.descr, c.shape, payload, version);
        const arr = parseNpy(bytes);
        expect(arr.dtype).toBe(c.descr === '<f8' ? 'f64' : 'f32');
        expect(arr.data).toBeInstanceOf(c.descr === '<f8' ? Float64Array : Float32Array);
        expect(arr.shape).toEqual(c.shape);
        expectSameFloats(arr.data, c.values);
        // ...and writing it back gives numpy's bytes.
        const again = serializeNpy(arr.data, arr.shape, arr.dtype, { version: version as 1 | 2 | 3 });
        expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
      });
    }
  }

  it('rejects numpy files it does not support: Fortran order, int32 (as floats), big-endian', () => {
    expectNpyError(numpyFile('<f8', [2, 3], f64le([1, 4, 2, 5, 3, 6]), 1, true), 'fortran_order: True', 'only C order');
    expectNpyError(numpyFile('<i4', [2, 2], new Uint8Array(16)), "integer dtype '<i4' (int32) is not read as floats", "'<f8'", "'<f4'", 'parseNpyAny');
    expectNpyError(numpyFile('>f8', [2], new Uint8Array(16)), "big-endian dtype '>f8'", 'only little-endian');
  });
});

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

/**
 * Shapes of 0 to 4 axes, each of length 0..5: covers 0-D, 1-D, 2-D, 3-D and 4-D, and 0-size
 * arrays, while keeping an array at most 5^4 = 625 elements so 200 runs stay fast.
 */
const shapeArb = fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 0, maxLength: 4 });
const versionArb = fc.constantFrom<(1 | 2 | 3) | undefined>(undefined, 1, 2, 3);

describe('round trip', () => {
  test.prop(
    [
      shapeArb.chain((shape) => {
        const n = shape.reduce((a, b) => a * b, 1);
        // Unbounded doubles on purpose: NaN, ±Infinity, -0 and subnormals must all survive.
        return fc.tuple(fc.constant(shape), fc.array(fc.double(), { minLength: n, maxLength: n }));
      }),
      versionArb,
    ],
    { seed: SEED, numRuns: 200 },
  )('f64: serialize then parse gives the same shape and bits', ([shape, values], version) => {
    const data = Float64Array.from(values);
    const bytes = serializeNpy(data, shape, 'f64', version ? { version } : {});
    const { version: written, dataOffset } = headerLenField(bytes);
    expect(written).toBe(version ?? 1);
    expect(dataOffset % NPY_ALIGN).toBe(0);
    expect(bytes.length).toBe(dataOffset + 8 * data.length);
    const arr = parseNpy(bytes);
    expect(arr.dtype).toBe('f64');
    expect(arr.shape).toEqual(shape);
    expectSameFloats(arr.data, data);
  });

  test.prop(
    [
      shapeArb.chain((shape) => {
        const n = shape.reduce((a, b) => a * b, 1);
        // fc.float() yields float32-representable values, including -0, subnormals, ±Infinity, NaN.
        return fc.tuple(fc.constant(shape), fc.array(fc.float(), { minLength: n, maxLength: n }));
      }),
      versionArb,
    ],
    { seed: SEED, numRuns: 200 },
  )('f32: serialize then parse gives the same shape and bits', ([shape, values], version) => {
    const data = Float32Array.from(values);
    const arr = parseNpy(serializeNpy(data, shape, 'f32', version ? { version } : {}));
    expect(arr.dtype).toBe('f32');
    expect(arr.data).toBeInstanceOf(Float32Array);
    expect(arr.shape).toEqual(shape);
    expectSameFloats(arr.data, data);
  });

  it('keeps f64 bit patterns exactly: -0, subnormals, extremes, infinities', () => {
    const special = [
      0, -0, Number.MIN_VALUE, -Number.MIN_VALUE, 2.225073858507201e-308 /* largest subnormal */,
      2.2250738585072014e-308 /* smallest normal */, Number.MAX_VALUE, -Number.MAX_VALUE,
      Infinity, -Infinity, 1 / 3, Number.EPSILON, 1 + Number.EPSILON,
    ];
    const data = Float64Array.from(special);
    const back = parseNpy(serializeNpy(data, [special.length])).data as Float64Array;
    expect(Array.from(new BigUint64Array(back.buffer, back.byteOffset, back.length))).toEqual(
      Array.from(new BigUint64Array(data.buffer)),
    );
    expect(Object.is(back[1], -0)).toBe(true);
    expect(back[2]).toBe(5e-324);
  });

  it('keeps f32 subnormals and -0', () => {
    const data = Float32Array.from([-0, 1.401298464324817e-45, 1.1754942106924411e-38, 3.4028234663852886e38]);
    const back = parseNpy(serializeNpy(data, [2, 2])).data;
    expect(Array.from(new Uint32Array((back as Float32Array).buffer))).toEqual(Array.from(new Uint32Array(data.buffer)));
  });

  it('converts dtype on write: f64 data as <f4 rounds to nearest float32, f32 as <f8 widens exactly', () => {
    const a = parseNpy(serializeNpy(new Float64Array([0.1, 1 / 3]), [2], 'f32'));
    expect(a.dtype).toBe('f32');
    expect(Array.from(a.data)).toEqual(Array.from(Float32Array.from([0.1, 1 / 3])));
    const b = parseNpy(serializeNpy(Float32Array.from([0.1]), [1, 1], 'f64'));
    expect(b.dtype).toBe('f64');
    expect(b.data[0]).toBe(Math.fround(0.1));
  });

  it('returns a copy, not a view of the input bytes', () => {
    const bytes = serializeNpy(new Float64Array([1, 2]), [2]);
    const arr = parseNpy(bytes);
    bytes.fill(0, bytes.length - 16);
    expect(Array.from(arr.data)).toEqual([1, 2]);
  });
});

// ---------------------------------------------------------------------------------------------
// Versions
// ---------------------------------------------------------------------------------------------

describe('format versions', () => {
  it('writes 1.0 by default, 2.0 / 3.0 on request, all 64-byte aligned', () => {
    const data = new Float64Array([1, 2, 3]);
    for (const [version, lenBytes] of [[1, 2], [2, 4], [3, 4]] as const) {
      const bytes = serializeNpy(data, [3], 'f64', { version });
      expect(bytes[6]).toBe(version);
      expect(bytes[7]).toBe(0);
      const { dataOffset } = headerLenField(bytes);
      expect(dataOffset % 64).toBe(0);
      expect(bytes[dataOffset - 1]).toBe(0x0a); // '\n'
      expect(bytes[8 + lenBytes]).toBe('{'.charCodeAt(0));
      expect(Array.from(parseNpy(bytes).data)).toEqual([1, 2, 3]);
    }
    expect(serializeNpy(data, [3])[6]).toBe(1);
  });

  it('switches to 2.0 when the header does not fit the uint16 length of 1.0', () => {
    // 22000 axes of length 1: "1, " x 22000 is over 65535 bytes of header.
    const shape = new Array<number>(22000).fill(1);
    const bytes = serializeNpy(new Float64Array([7]), shape);
    expect(bytes[6]).toBe(2);
    const { dataOffset } = headerLenField(bytes);
    expect(dataOffset).toBeGreaterThan(65535);
    expect(dataOffset % 64).toBe(0);
    // The default reader limit (numpy's 10000) refuses it; a raised limit reads it.
    expectNpyError(bytes, 'header too long', 'over the limit of 10000');
    const arr = parseNpy(bytes, { maxHeaderBytes: 1 << 20 });
    expect(arr.shape.length).toBe(22000);
    expect(Array.from(arr.data)).toEqual([7]);
    // Forcing 1.0 for it is an error.
    expect(() => serializeNpy(new Float64Array([7]), shape, 'f64', { version: 1 })).toThrow(NpyFormatError);
    expect(() => serializeNpy(new Float64Array([7]), shape, 'f64', { version: 1 })).toThrow(/writeNpy: header too long: \d+ bytes .* does not fit format version 1\.0/);
  });

  it('decodes the 3.0 header as utf-8 and 1.0 / 2.0 headers as latin1', () => {
    // 'é' as utf-8 is 0xC3 0xA9; in a 1.0 header those bytes read as latin1 'Ã©'.
    const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'é': 1}";
    expectNpyError(rawNpy({ version: 3, header, data: f64le([1]) }), "unknown header key 'é'");
    const v1 = rawNpy({ version: 1, header: "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), '\u00e9': 1}", data: f64le([1]) });
    expectNpyError(v1, "unknown header key 'é'");
    // Bytes that are not utf-8 in a 3.0 header.
    const bad = rawNpy({ version: 3, header: "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", data: f64le([1]) });
    bad[13] = 0xff; // inside 'descr'
    expectNpyError(bad, 'header of version 3.0 is not valid utf-8');
  });
});

// ---------------------------------------------------------------------------------------------
// Header parser
// ---------------------------------------------------------------------------------------------

describe('header dict parser', () => {
  const ok = (header: string, version = 1, values = [1, 2, 3, 4, 5, 6]): NpyArray =>
    parseNpy(rawNpy({ version, header, data: f64le(values) }));

  it('accepts what Python would: quotes of either kind, any key order, spacing, trailing commas', () => {
    expect(ok("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }").shape).toEqual([2, 3]);
    expect(ok('{"descr": "<f8", "fortran_order": False, "shape": (2, 3)}').shape).toEqual([2, 3]);
    expect(ok("{'shape':(2,3),'fortran_order':False,'descr':'<f8'}").shape).toEqual([2, 3]);
    expect(ok("  {\t'shape' : ( 3 , 2 , ) ,\n 'descr' : '<f8' , 'fortran_order' : False , }  \n\n").shape).toEqual([3, 2]);
    expect(ok("{'descr': '<f8', 'fortran_order': False, 'shape': (6,)}").shape).toEqual([6]);
    expect(ok("{'descr': '<f8', 'fortran_order': False, 'shape': ()}", 1, [9]).shape).toEqual([]);
    expect(ok("{'descr': '<f8', 'fortran_order': False, 'shape': ((6),)}").shape).toEqual([6]); // (6) is 6
    expect(ok("{'descr': '\\x3cf8', 'fortran_order': False, 'shape': (6,)}").shape).toEqual([6]); // escapes
  });

  it("accepts Python 2's long suffix (3L) in 1.0 / 2.0 headers, as numpy does, but not in 3.0", () => {
    expect(ok("{'descr': '<f8', 'fortran_order': False, 'shape': (2L, 3L), }").shape).toEqual([2, 3]);
    expect(ok("{'descr': '<f8', 'fortran_order': False, 'shape': (2L, 3L), }", 2).shape).toEqual([2, 3]);
    expectNpyError(rawNpy({ version: 3, header: "{'descr': '<f8', 'fortran_order': False, 'shape': (2L, 3L), }", data: f64le([1, 2, 3, 4, 5, 6]) }), 'not a valid Python dict literal', 'invalid character in a number');
  });

  it('reads a header that is not newline-terminated and data at an odd offset', () => {
    const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)}";
    const bytes = rawNpy({ header, pad: false, data: f64le([1.25, -2.5]) });
    expect(headerLenField(bytes).dataOffset % 2).toBe(1);
    expect(Array.from(parseNpy(bytes).data)).toEqual([1.25, -2.5]);
  });

  it('parses literals exactly and refuses anything that is not one', () => {
    expect(parsePyLiteral('(1, -2, 3.5e1, True, None, "a\'b", [])')).toEqual({
      kind: 'tuple',
      items: [
        { kind: 'int', value: 1n },
        { kind: 'int', value: -2n },
        { kind: 'float', value: 35, text: '3.5e1' },
        { kind: 'bool', value: true },
        { kind: 'none' },
        { kind: 'str', value: "a'b" },
        { kind: 'list', items: [] },
      ],
    });
    for (const garbage of ['', '{', '{}}', "{'a' 1}", "{'a': }", '(1,,2)', '(,)', '007', '1 2', "'abc", '0x10', 'os.system', '__import__("os")', '{1: 2} # c', '1.e', '-', 'Tru']) {
      expect(() => parsePyLiteral(garbage), garbage).toThrow(SyntaxError);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Malformed files
// ---------------------------------------------------------------------------------------------

describe('malformed files', () => {
  const good = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
  const six = f64le([1, 2, 3, 4, 5, 6]);
  const withHeader = (header: string, data = six, version = 1): Uint8Array => rawNpy({ version, header, data });

  it('bad magic', () => {
    expectNpyError(new Uint8Array(0), "bad magic: a .npy file starts with b'\\x93NUMPY', got b''", '(only 0 bytes)');
    expectNpyError(latin1('NUMPY\x01\x00'), "got b'NUMPY\\x01\\x00'");
    expectNpyError(latin1('\x89PNG\r\n\x1a\n\x00\x00'), "got b'\\x89PNG\\r\\n\\x1a\\n'");
    const corrupted = serializeNpy(new Float64Array(1), [1]);
    corrupted[1] = 0x6e; // 'n'
    expectNpyError(corrupted, 'bad magic', "got b'\\x93nUMPY\\x01\\x00'");
  });

  it('unknown version', () => {
    expectNpyError(rawNpy({ version: 4, header: good, data: six }), 'unknown format version 4.0; supported: 1.0, 2.0, 3.0');
    expectNpyError(rawNpy({ version: 1, minor: 1, header: good, data: six }), 'unknown format version 1.1');
    expectNpyError(rawNpy({ version: 0, header: good, data: six }), 'unknown format version 0.0');
  });

  it('truncated header', () => {
    expectNpyError(latin1('\x93NUMPY\x01'), 'truncated: 7 bytes, too short for the version bytes');
    expectNpyError(latin1('\x93NUMPY\x02\x00\x10\x00'), 'truncated header: 10 bytes, too short for the 4-byte header length of version 2.0');
    const full = withHeader(good);
    expectNpyError(full.subarray(0, 60), 'truncated header: it declares 118 bytes but only 50 follow the length field');
  });

  it('header too long', () => {
    expectNpyError(rawNpy({ version: 2, header: good, headerLen: 0xffffffff }), 'header too long: 4294967295 bytes, over the limit of 10000');
    const big = withHeader(`{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }${' '.repeat(12000)}`);
    expectNpyError(big, 'header too long');
    expect(parseNpy(big, { maxHeaderBytes: 20000 }).shape).toEqual([2, 3]);
  });

  it('header not a dict literal, or not a literal at all', () => {
    expectNpyError(withHeader("('<f8', False, (2, 3))"), "header is not a dict literal: got tuple ('<f8', False, (2, 3))");
    expectNpyError(withHeader('[1, 2]'), 'header is not a dict literal: got list [1, 2]');
    expectNpyError(withHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)"), 'not a valid Python dict literal', "expected ',' or '}'");
    expectNpyError(withHeader("{'descr': <f8, 'fortran_order': False, 'shape': (2, 3)}"), 'not a valid Python dict literal', 'unexpected character');
    expectNpyError(withHeader(`${good}; __import__('os')`), 'not a valid Python dict literal', 'unexpected text after the literal');
    expectNpyError(withHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (2,, 3)}"), 'not a valid Python dict literal');
    expectNpyError(withHeader("{'descr': '<f8', 'fortran_order': false, 'shape': (2, 3)}"), "unexpected name 'false'");
    expectNpyError(withHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), 'x': (((((((((((((((((((((((((((((((((((1)))))))))))))))))))))))))))))))))))}"), 'nesting deeper than 32');
    expectNpyError(withHeader(''), 'unexpected end of header');
  });

  it('missing, unknown, duplicate or non-string keys', () => {
    expectNpyError(withHeader("{'descr': '<f8', 'fortran_order': False}"), "header is missing key 'shape'");
    expectNpyError(withHeader('{}'), "header is missing key 'descr'");
    expectNpyError(withHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}"), "unknown header key 'extra'; expected exactly 'descr', 'fortran_order', 'shape'");
    expectNpyError(withHeader("{'descr': '<f8', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}"), "duplicate header key 'descr'");
    expectNpyError(withHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), 1: 2}"), 'header key 1 is not a string');
  });

  it('unsupported dtypes, each named', () => {
    const dt = (descr: string) => withHeader(`{'descr': ${descr}, 'fortran_order': False, 'shape': (2, 3), }`);
    expectNpyError(dt("'>f8'"), "big-endian dtype '>f8' (floating point, 8 bytes) is not supported; only little-endian float64 '<f8' and float32 '<f4' are supported");
    expectNpyError(dt("'>f4'"), "big-endian dtype '>f4'");
    expectNpyError(dt("'<i4'"), "integer dtype '<i4' (int32) is not read as floats; only little-endian float64 '<f8' and float32 '<f4' are supported (integer arrays are read by parseNpyAny / readNpyAnyFileSync)");
    expectNpyError(dt("'<u8'"), "integer dtype '<u8' (uint64) is not read as floats");
    expectNpyError(dt("'>i8'"), "big-endian dtype '>i8' (signed integer, 8 bytes) is not supported");
    expectNpyError(dt("'<i16'"), "dtype '<i16' (signed integer, 16 bytes) is not supported");
    expectNpyError(dt("'<f2'"), "dtype '<f2' (float16, half precision) is not supported");
    expectNpyError(dt("'<f16'"), "dtype '<f16' (floating point, 16 bytes) is not supported");
    expectNpyError(dt("'|b1'"), "boolean dtype '|b1' is not supported; save it as integers (a.astype(np.int64))");
    expectNpyError(dt("'|O'"), "object dtype '|O' is not supported");
    expectNpyError(dt("'<c16'"), "dtype '<c16' (complex, 16 bytes) is not supported");
    expectNpyError(dt("'<U5'"), "dtype '<U5' (unicode string, 5 bytes) is not supported");
    expectNpyError(dt("'<M8[ns]'"), "dtype '<M8[ns]' (datetime64, 8 bytes, [ns]) is not supported");
    expectNpyError(dt("'=f8'"), "dtype '=f8' with byte order '=' is not supported");
    expectNpyError(dt("'float64'"), "unsupported dtype descr 'float64'");
    expectNpyError(dt("[('x', '<f8'), ('y', '<f8')]"), "structured dtype (descr is a list of 2 fields: [('x', '<f8'), ('y', '<f8')]) is not supported");
    expectNpyError(dt('8'), "'descr' must be a string, got int 8");
  });

  it('fortran_order True or not a bool', () => {
    expectNpyError(withHeader("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }"), 'fortran_order: True (column-major data) is not supported; only C order is');
    expectNpyError(withHeader("{'descr': '<f8', 'fortran_order': 0, 'shape': (2, 3), }"), "'fortran_order' must be True or False, got 0");
  });

  it('bad shapes: negative, non-integer, not a tuple, too large', () => {
    const sh = (shape: string, data = six) => withHeader(`{'descr': '<f8', 'fortran_order': False, 'shape': ${shape}, }`, data);
    expectNpyError(sh('(-2, 3)'), 'shape (-2, 3) entry 0 is negative (-2)');
    expectNpyError(sh('(2, 3.0)'), 'shape (2, 3.0) entry 1 is 3.0, not an integer');
    expectNpyError(sh('(2.5, 3)'), 'shape (2.5, 3) entry 0 is 2.5, not an integer');
    expectNpyError(sh('(True, 3)'), 'shape (True, 3) entry 0 is True, not an integer');
    expectNpyError(sh("('2', 3)"), "shape ('2', 3) entry 0 is '2', not an integer");
    expectNpyError(sh('[2, 3]'), "'shape' must be a tuple of non-negative ints, got list [2, 3]");
    expectNpyError(sh('(6)'), "'shape' must be a tuple of non-negative ints, got int 6");
    expectNpyError(sh('None'), "'shape' must be a tuple of non-negative ints, got NoneType None");
    expectNpyError(sh('(99999999999999999999, 0)', new Uint8Array(0)), 'shape (99999999999999999999, 0) entry 0 is 99999999999999999999, larger than 2^53 - 1');
  });

  it('data shorter or longer than the shape requires', () => {
    expectNpyError(withHeader(good, six.subarray(0, 47)), 'truncated data: shape (2, 3) of <f8 needs 48 bytes but 47 follow the header');
    expectNpyError(withHeader(good, new Uint8Array(0)), 'truncated data: shape (2, 3) of <f8 needs 48 bytes but 0 follow the header');
    expectNpyError(withHeader(good, concat(six, new Uint8Array(3))), '3 trailing bytes: shape (2, 3) of <f8 needs 48 bytes but 51 follow the header');
    expectNpyError(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", new Uint8Array(4)), '4 trailing bytes: shape (0, 3) of <f4 needs 0 bytes');
    expectNpyError(withHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", new Uint8Array(4)), 'truncated data: shape () of <f8 needs 8 bytes but 4');
    // A product that would overflow a double is still compared exactly.
    expectNpyError(withHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", six), 'truncated data', 'needs 147573952589676412928 bytes');
  });

  it('names the source in messages when given one', () => {
    expect(() => parseNpy(new Uint8Array(3), { source: 'x.npy' })).toThrow('readNpy: x.npy: bad magic');
  });
});

// ---------------------------------------------------------------------------------------------
// Alignment
// ---------------------------------------------------------------------------------------------

describe('alignment', () => {
  test.prop([fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 9 }), fc.constantFrom('f64' as const, 'f32' as const)], { seed: SEED, numRuns: 100 })(
    'decodes from any byte offset: misaligned subarrays and odd header lengths',
    (shift, extraHeader, dtype) => {
      const values = [1.5, -0, 3e-310, 2 ** 60, -7.25];
      const payload = dtype === 'f64' ? f64le(values) : f32le(values);
      const header = `{'descr': '${dtype === 'f64' ? '<f8' : '<f4'}', 'fortran_order': False, 'shape': (5,)}${' '.repeat(extraHeader)}`;
      const file = rawNpy({ header, pad: false, data: payload });
      // Place the file at `shift` bytes into a larger buffer so nothing is aligned.
      const host = new Uint8Array(file.length + 32);
      host.set(file, shift);
      const arr = parseNpy(host.subarray(shift, shift + file.length));
      const expected = dtype === 'f64' ? Float64Array.from(values) : Float32Array.from(values);
      expectSameFloats(arr.data, expected);
      expect(arr.data.byteOffset).toBe(0);
    },
  );

  it('reads from a Node Buffer at an odd offset inside a shared (pooled) ArrayBuffer', () => {
    const file = serializeNpy(new Float64Array([1, -2, 3.5]), [3]);
    const pooled = Buffer.concat([Buffer.from([1, 2, 3]), Buffer.from(file), Buffer.from([9, 9])]);
    const view = pooled.subarray(3, 3 + file.length); // a Buffer sharing pooled's memory
    expect(view.byteOffset % 8).not.toBe(0);
    const arr = parseNpy(view);
    expect(Array.from(arr.data)).toEqual([1, -2, 3.5]);
    expect(arr.data.buffer).not.toBe(pooled.buffer);
  });

  it('the big-endian-host decoding path gives the same values', () => {
    const values = [1.5, -0, 5e-324, -Infinity, 1 / 3];
    const bytes = concat(new Uint8Array(3), f64le(values));
    expectSameFloats(decodeLittleEndian(bytes, 3, 5, 'f64', false), values);
    expectSameFloats(decodeLittleEndian(bytes, 3, 5, 'f64', true), values);
    const b32 = concat(new Uint8Array(1), f32le([1.5, -0, 1e-45]));
    expectSameFloats(decodeLittleEndian(b32, 1, 3, 'f32', false), Float32Array.from([1.5, -0, 1e-45]));
  });

  it('every written file has its data at a multiple of 64 bytes', () => {
    for (let ndim = 0; ndim <= 40; ndim++) {
      const shape = Array.from({ length: ndim }, (_, k) => (k === 0 ? 10 ** (ndim % 12) : 1));
      const n = shape.reduce((a, b) => a * b, 1);
      if (n > 1e6) continue;
      const bytes = serializeNpy(new Float32Array(n), shape);
      expect(headerLenField(bytes).dataOffset % 64).toBe(0);
      expect(parseNpy(bytes).shape).toEqual(shape);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// serializeNpy argument checks
// ---------------------------------------------------------------------------------------------

describe('serializeNpy argument checks', () => {
  it('rejects a shape that does not match the data, or bad shape entries', () => {
    expect(() => serializeNpy(new Float64Array(5), [2, 3])).toThrow(ShapeError);
    expect(() => serializeNpy(new Float64Array(5), [2, 3])).toThrow('writeNpy: shape [2, 3] has 6 elements but the data has 5');
    expect(() => serializeNpy(new Float64Array(0), [-1, 0])).toThrow('writeNpy: shape [-1, 0] entry 0 is -1; entries must be non-negative integers');
    expect(() => serializeNpy(new Float64Array(3), [1.5, 2])).toThrow('entry 0 is 1.5');
  });
});

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

describe('readNpyFile / writeNpyFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'contrastlab-npy-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const arr: NpyArray = { dtype: 'f64', shape: [2, 2], data: new Float64Array([1, 2, 3, 4]) };
  const other: NpyArray = { dtype: 'f32', shape: [3], data: new Float32Array([9, 8, 7]) };

  it('writes the serialized bytes and reads them back', async () => {
    const p = join(dir, 'a.npy');
    await writeNpyFile(p, arr);
    expect(Buffer.from(await readFile(p)).equals(Buffer.from(serializeNpy(arr.data, arr.shape)))).toBe(true);
    const back = await readNpyFile(p);
    expect(back.shape).toEqual([2, 2]);
    expect(Array.from(back.data)).toEqual([1, 2, 3, 4]);
    expect(await readdir(dir)).toEqual(['a.npy']);
  });

  it('refuses to replace an existing file unless overwrite is true, leaving it intact', async () => {
    const p = join(dir, 'a.npy');
    await writeNpyFile(p, arr);
    const before = await readFile(p);
    const err = await writeNpyFile(p, other).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(`writeNpy: '${p}' already exists; refusing to overwrite it (pass --force / overwrite: true)`);
    expect(Buffer.from(await readFile(p)).equals(before)).toBe(true);
    expect(await readdir(dir)).toEqual(['a.npy']);

    await writeNpyFile(p, other, { overwrite: true });
    const back = await readNpyFile(p);
    expect(back.dtype).toBe('f32');
    expect(Array.from(back.data)).toEqual([9, 8, 7]);
    expect(await readdir(dir)).toEqual(['a.npy']);
  });

  it('refuses to replace a folder too, and leaves nothing behind', async () => {
    const p = join(dir, 'sub');
    await mkdir(p);
    await expect(writeNpyFile(p, arr)).rejects.toThrow(ConfigError);
    await expect(writeNpyFile(p, arr, { overwrite: true })).rejects.toThrow(); // rename onto a folder fails
    expect((await readdir(dir)).sort()).toEqual(['sub']);
    expect(await readdir(p)).toEqual([]);
  });

  it('concurrent writers without overwrite: exactly one wins, the others get ConfigError', async () => {
    const p = join(dir, 'race.npy');
    const writers = Array.from({ length: 8 }, (_, k) =>
      writeNpyFile(p, { dtype: 'f64', shape: [1], data: new Float64Array([k]) }),
    );
    const results = await Promise.allSettled(writers);
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won.length).toBe(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConfigError);
    const winner = results.findIndex((r) => r.status === 'fulfilled');
    expect(Array.from((await readNpyFile(p)).data)).toEqual([winner]);
    expect(await readdir(dir)).toEqual(['race.npy']);
  });

  it('fails cleanly: missing folder, bad shape', async () => {
    await expect(writeNpyFile(join(dir, 'nope', 'a.npy'), arr)).rejects.toThrow(/the folder .*nope' for .* does not exist/);
    await expect(writeNpyFile(join(dir, 'b.npy'), { dtype: 'f64', shape: [3], data: new Float64Array(2) })).rejects.toThrow(ShapeError);
    expect(await readdir(dir)).toEqual([]);
  });

  it('names the path in format errors', async () => {
    const p = join(dir, 'bad.npy');
    await writeFile(p, rawNpy({ header: "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", data: new Uint8Array(8) }));
    const err = await readNpyFile(p).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NpyFormatError);
    expect((err as Error).message).toBe(`readNpy: ${p}: integer dtype '<i8' (int64) is not read as floats; only little-endian float64 '<f8' and float32 '<f4' are supported (integer arrays are read by parseNpyAny / readNpyAnyFileSync)`);
  });
});

// ---------------------------------------------------------------------------------------------
// Matrix helpers
// ---------------------------------------------------------------------------------------------

describe('npyToMatrix / matrixToNpy', () => {
  it('a 2-D array becomes a Matrix sharing its data', () => {
    const arr: NpyArray = { dtype: 'f64', shape: [2, 3], data: new Float64Array([1, 2, 3, 4, 5, 6]) };
    const m = npyToMatrix(arr);
    expect(m.data).toBe(arr.data);
    expect(toRows(m)).toEqual([[1, 2, 3], [4, 5, 6]]);
  });

  it('a 1-D array is an error naming the shape, unless allow1d (n x 1)', () => {
    const arr: NpyArray = { dtype: 'f32', shape: [5], data: new Float32Array(5) };
    expect(() => npyToMatrix(arr)).toThrow(ShapeError);
    expect(() => npyToMatrix(arr)).toThrow('npyToMatrix: array has shape (5,) (1-D); need a 2-D array, or pass { allow1d: true } to read it as 5x1');
    const m = npyToMatrix(arr, { allow1d: true });
    expect([m.rows, m.cols]).toEqual([5, 1]);
  });

  it('0-D and 3-D arrays are errors naming the shape', () => {
    expect(() => npyToMatrix({ dtype: 'f64', shape: [], data: new Float64Array(1) })).toThrow('npyToMatrix: array has shape () (0-D); need a 2-D array');
    expect(() => npyToMatrix({ dtype: 'f64', shape: [2, 1, 3], data: new Float64Array(6) })).toThrow('npyToMatrix: array has shape (2, 1, 3) (3-D); need a 2-D array');
  });

  it('a contiguous Matrix is shared; strided views and dtype changes are copied', () => {
    const base = matrix(Float64Array.from({ length: 12 }, (_, k) => k), 3, 4);
    const same = matrixToNpy(base);
    expect(same.data.buffer).toBe(base.data.buffer);
    expect(same.shape).toEqual([3, 4]);

    const rows = rowRange(base, 1, 2); // contiguous, offset 4
    const r = matrixToNpy(rows);
    expect(r.data.buffer).toBe(base.data.buffer);
    expect(Array.from(r.data)).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);

    const t = matrixToNpy(transpose(base));
    expect(t.shape).toEqual([4, 3]);
    expect(t.data.buffer).not.toBe(base.data.buffer);
    expect(Array.from(t.data)).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);

    const b = matrixToNpy(block(base, 1, 1, 2, 2), 'f32');
    expect(b.dtype).toBe('f32');
    expect(b.data).toBeInstanceOf(Float32Array);
    expect(Array.from(b.data)).toEqual([5, 6, 9, 10]);

    const e = matrixToNpy(zeros(0, 7, 'f32'));
    expect(e.shape).toEqual([0, 7]);
    expect(e.data.length).toBe(0);
  });

  test.prop(
    [
      // Base matrices up to 6x6 and any block / transpose / row step of them: enough to hit
      // every stride pattern while keeping each case tiny.
      fc.integer({ min: 1, max: 6 }).chain((r) =>
        fc.integer({ min: 1, max: 6 }).chain((c) =>
          fc.record({
            r: fc.constant(r),
            c: fc.constant(c),
            r0: fc.integer({ min: 0, max: r }),
            c0: fc.integer({ min: 0, max: c }),
            t: fc.boolean(),
            step: fc.integer({ min: 1, max: 3 }),
            f32: fc.boolean(),
          }),
        ),
      ),
    ],
    { seed: SEED, numRuns: 200 },
  )('any strided view round-trips through .npy bytes to the same values', ({ r, c, r0, c0, t, step, f32 }) => {
    const data = f32 ? Float32Array.from({ length: r * c }, (_, k) => k - 0.5) : Float64Array.from({ length: r * c }, (_, k) => k / 7);
    let v = block(matrix(data, r, c), r0, c0, r - r0, c - c0);
    if (v.rows > 0) v = rowRange(v, 0, Math.ceil(v.rows / step), step);
    if (t) v = transpose(v);
    const arr = parseNpy(serializeNpy(matrixToNpy(v).data, [v.rows, v.cols], f32 ? 'f32' : 'f64'));
    const back = npyToMatrix(arr);
    expect(toRows(back)).toEqual(toRows(v));
  });
});
