import { fc, test } from '@fast-check/vitest';
import ndarray from 'ndarray';
import { describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../../src/core/errors.ts';
import { block, get, matrix, set, toRows, transpose } from '../../src/core/matrix.ts';
import { type AnyNdArray, fromNdarray, toNdarray } from '../../src/interop/ndarray.ts';

const SEED = 20261122;

function ndRows(nd: AnyNdArray): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < nd.shape[0]!; i++) {
    const row: number[] = [];
    for (let j = 0; j < nd.shape[1]!; j++) row.push(nd.get(i, j));
    out.push(row);
  }
  return out;
}

const iota64 = (n: number) => Float64Array.from({ length: n }, (_, k) => k);

describe('fromNdarray', () => {
  it('a contiguous ndarray becomes a zero-copy Matrix', () => {
    const nd = ndarray(iota64(6), [2, 3]);
    const m = fromNdarray(nd);
    expect(m.data).toBe(nd.data);
    expect(m).toMatchObject({ rows: 2, cols: 3, rowStride: 3, colStride: 1, offset: 0 });
    expect(toRows(m)).toEqual([[0, 1, 2], [3, 4, 5]]);
    set(m, 1, 2, 99);
    expect(nd.get(1, 2)).toBe(99);
  });

  it('transposes, sub-blocks and positive steps stay zero-copy with their strides and offset', () => {
    const nd = ndarray(iota64(20), [4, 5]);
    const t = fromNdarray(nd.transpose(1, 0));
    expect(t.data).toBe(nd.data);
    expect(t).toMatchObject({ rows: 5, cols: 4, rowStride: 1, colStride: 5, offset: 0 });
    expect(toRows(t)).toEqual(ndRows(nd.transpose(1, 0)));

    const sub = nd.lo(1, 2).hi(2, 3).step(1, 2);
    const s = fromNdarray(sub);
    expect(s.data).toBe(nd.data);
    expect(s).toMatchObject({ rows: 2, cols: 2, rowStride: 5, colStride: 2, offset: 7 });
    expect(toRows(s)).toEqual([[7, 9], [12, 14]]);
  });

  it('negative strides are copied into a contiguous Matrix', () => {
    const nd = ndarray(iota64(6), [2, 3]);
    const flipped = nd.step(-1, 1);
    expect(flipped.stride).toEqual([-3, 1]);
    const m = fromNdarray(flipped);
    expect(m.data).not.toBe(nd.data);
    expect(m).toMatchObject({ rows: 2, cols: 3, rowStride: 3, colStride: 1, offset: 0 });
    expect(toRows(m)).toEqual([[3, 4, 5], [0, 1, 2]]);
    expect(toRows(fromNdarray(nd.step(1, -1)))).toEqual([[2, 1, 0], [5, 4, 3]]);
  });

  it('a negative stride along an axis of length 1 is harmless and stays zero-copy', () => {
    const nd = ndarray(iota64(6), [2, 3]).hi(1, 3).step(-1, 1);
    const m = fromNdarray(nd);
    expect(m.data).toBe(nd.data);
    expect(m.rowStride).toBeGreaterThanOrEqual(0);
    expect(toRows(m)).toEqual([[0, 1, 2]]);
  });

  it('broadcast (zero-stride) and overlapping layouts are copied, so writes cannot alias', () => {
    const data = Float64Array.from([1, 2, 3]);
    const m = fromNdarray(ndarray(data, [4, 3], [0, 1]));
    expect(m.data).not.toBe(data);
    expect(toRows(m)).toEqual([[1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 2, 3]]);
    const overlap = fromNdarray(ndarray(iota64(6), [3, 3], [1, 1]));
    expect(toRows(overlap)).toEqual([[0, 1, 2], [1, 2, 3], [2, 3, 4]]);
    expect(overlap.data.length).toBe(9);
  });

  it('keeps Float32Array data as f32', () => {
    const nd = ndarray(new Float32Array([1.5, 2.5, 3.5, 4.5]), [2, 2]);
    const m = fromNdarray(nd.transpose(1, 0));
    expect(m.data).toBe(nd.data);
    expect(toRows(m)).toEqual([[1.5, 3.5], [2.5, 4.5]]);
    const c = fromNdarray(nd.step(-1, -1));
    expect(c.data).toBeInstanceOf(Float32Array);
    expect(toRows(c)).toEqual([[4.5, 3.5], [2.5, 1.5]]);
  });

  it('empty arrays give empty matrices of the right shape', () => {
    const m = fromNdarray(ndarray(new Float64Array(0), [0, 4]));
    expect([m.rows, m.cols]).toEqual([0, 4]);
    const n = fromNdarray(ndarray(iota64(6), [2, 3]).hi(2, 0));
    expect([n.rows, n.cols]).toEqual([2, 0]);
    expect(toRows(n)).toEqual([[], []]);
  });

  it('rejects data that is not Float64Array / Float32Array, naming its type', () => {
    expect(() => fromNdarray(ndarray(new Int32Array(4), [2, 2]))).toThrow(ConfigError);
    expect(() => fromNdarray(ndarray(new Int32Array(4), [2, 2]))).toThrow("fromNdarray: ndarray data is Int32Array (dtype 'int32'); need Float64Array or Float32Array");
    expect(() => fromNdarray(ndarray([1, 2, 3, 4], [2, 2]))).toThrow("fromNdarray: ndarray data is Array (dtype 'array'); need Float64Array or Float32Array");
    expect(() => fromNdarray(ndarray(new Uint8Array(4), [2, 2]))).toThrow('ndarray data is Uint8Array');
  });

  it('rejects arrays that are not 2-D, naming the shape', () => {
    expect(() => fromNdarray(ndarray(iota64(6), [6]))).toThrow(ShapeError);
    expect(() => fromNdarray(ndarray(iota64(6), [6]))).toThrow('fromNdarray: ndarray has shape [6] (1-D); need a 2-D array');
    expect(() => fromNdarray(ndarray(iota64(6), [1, 2, 3]))).toThrow('fromNdarray: ndarray has shape [1, 2, 3] (3-D); need a 2-D array');
  });

  it('rejects layouts that run outside the buffer', () => {
    expect(() => fromNdarray(ndarray(iota64(5), [2, 3]))).toThrow(ShapeError);
    expect(() => fromNdarray(ndarray(iota64(5), [2, 3]))).toThrow('fromNdarray: ndarray [2, 3] with strides [3, 1] and offset 0 reaches elements 0..5, outside its data of length 5');
    expect(() => fromNdarray(ndarray(iota64(6), [2, 3], [-3, 1], 0))).toThrow('reaches elements -3..2');
  });
});

describe('toNdarray', () => {
  it('is zero-copy and keeps strides and offset', () => {
    const base = matrix(iota64(12), 3, 4);
    const v = transpose(block(base, 1, 1, 2, 3)); // 3x2, strides (1, 4), offset 5
    const nd = toNdarray(v);
    expect(nd.data).toBe(base.data);
    expect(nd.shape).toEqual([3, 2]);
    expect(nd.stride).toEqual([1, 4]);
    expect(nd.offset).toBe(5);
    expect(nd.dtype).toBe('float64');
    expect(ndRows(nd)).toEqual(toRows(v));
    nd.set(0, 1, -1);
    expect(get(v, 0, 1)).toBe(-1);
  });

  it('f32 matrices give float32 ndarrays', () => {
    const nd = toNdarray(matrix(new Float32Array([1, 2, 3, 4]), 2, 2));
    expect(nd.dtype).toBe('float32');
    expect(nd.get(1, 0)).toBe(3);
  });
});

describe('round trips', () => {
  test.prop(
    [
      // Base arrays up to 7x7 (covers 1-wide and empty results after slicing) with any
      // combination of lo/hi slicing, steps of ±1..3 per axis and a transpose: every stride sign
      // pattern ndarray can produce, at a size that keeps each case tiny.
      fc.integer({ min: 1, max: 7 }).chain((r) =>
        fc.integer({ min: 1, max: 7 }).chain((c) =>
          fc.record({
            r: fc.constant(r),
            c: fc.constant(c),
            lo0: fc.integer({ min: 0, max: r }),
            lo1: fc.integer({ min: 0, max: c }),
            s0: fc.constantFrom(-3, -2, -1, 1, 2, 3),
            s1: fc.constantFrom(-3, -2, -1, 1, 2, 3),
            t: fc.boolean(),
            f32: fc.boolean(),
          }),
        ),
      ),
    ],
    { seed: SEED, numRuns: 300 },
  )('fromNdarray reads every view exactly; zero-copy iff no stride is negative', ({ r, c, lo0, lo1, s0, s1, t, f32 }) => {
    const data = f32 ? Float32Array.from({ length: r * c }, (_, k) => k) : iota64(r * c);
    let nd: AnyNdArray = ndarray(data, [r, c]).lo(lo0, lo1).step(s0, s1);
    if (t) nd = nd.transpose(1, 0);
    const m = fromNdarray(nd);
    expect([m.rows, m.cols]).toEqual(nd.shape);
    expect(toRows(m)).toEqual(ndRows(nd));
    const usedNegative = nd.shape.some((n, k) => n > 1 && nd.stride[k]! < 0);
    const empty = nd.shape.includes(0);
    if (!usedNegative || empty) expect(m.data).toBe(data);
    else expect(m.data).not.toBe(data);
    // And back: toNdarray(fromNdarray(nd)) reads the same values.
    expect(ndRows(toNdarray(m))).toEqual(ndRows(nd));
  });
});
