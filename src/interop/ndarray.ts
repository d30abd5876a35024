/**
 * scijs `ndarray` as the interop array type: users pass 2-D ndarrays in and get them back.
 *
 * An ndarray's element (i, j) lives at `data[offset + i*stride[0] + j*stride[1]]`, the same rule
 * as a {@link Matrix} view, so both directions are zero-copy when the layout allows it.
 *
 * @example
 * import ndarray from 'ndarray';
 * const nd = ndarray(new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3]);
 * const m = fromNdarray(nd.transpose(1, 0)); // 3x2 view, shares nd.data
 * const back = toNdarray(m); // shape [3, 2], stride [1, 3], shares nd.data
 */
import ndarray from 'ndarray';
import { ConfigError, ShapeError } from '../core/errors.ts';
import type { FloatArray, Matrix } from '../core/matrix.ts';

/** Any ndarray; {@link fromNdarray} checks the data type at run time. */
export type AnyNdArray = ndarray.NdArray<ndarray.Data<number>>;
export type FloatNdArray<A extends FloatArray = FloatArray> = ndarray.NdArray<A>;

const OP_FROM = 'fromNdarray';

function dataTypeName(data: unknown): string {
  if (Array.isArray(data)) return 'Array';
  if (typeof data === 'object' && data !== null) return (data as { constructor?: { name?: string } }).constructor?.name ?? 'Object';
  return typeof data;
}

/**
 * True when the 2-D layout (extents n0, n1; strides s0, s1 >= 0) maps distinct (i, j) to
 * distinct elements. A sufficient test (the smaller stride's whole span fits under the larger
 * stride); layouts it rejects are copied, which is always correct.
 */
function nonOverlapping(n0: number, s0: number, n1: number, s1: number): boolean {
  if (n0 <= 1 || n1 <= 1) return (n0 <= 1 || s0 > 0) && (n1 <= 1 || s1 > 0);
  const [sa, na, sb] = s0 <= s1 ? [s0, n0, s1] : [s1, n1, s0];
  return sa > 0 && sa * (na - 1) < sb;
}

/**
 * A 2-D ndarray of Float64Array or Float32Array data as a Matrix.
 *
 * Zero-copy (the Matrix shares `nd.data`, with the same strides and offset) when every stride
 * is non-negative and no two elements share storage; otherwise (negative strides, as from
 * `nd.step(-1)`, or broadcast / overlapping strides) a contiguous row-major copy.
 * Errors: {@link ShapeError} for a non-2-D array or a layout that runs outside its buffer;
 * {@link ConfigError} for data that is not Float64Array / Float32Array, naming its type.
 */
export function fromNdarray(nd: AnyNdArray | FloatNdArray): Matrix {
  const { shape, stride, offset, data } = nd;
  if (shape.length !== 2) {
    throw new ShapeError(OP_FROM, `ndarray has shape [${shape.join(', ')}] (${shape.length}-D); need a 2-D array`);
  }
  if (!(data instanceof Float64Array || data instanceof Float32Array)) {
    throw new ConfigError(OP_FROM, `ndarray data is ${dataTypeName(data)} (dtype '${nd.dtype}'); need Float64Array or Float32Array`);
  }
  const [rows, cols] = shape as [number, number];
  const [s0, s1] = stride as [number, number];
  if (![rows, cols].every((n) => Number.isSafeInteger(n) && n >= 0)) {
    throw new ShapeError(OP_FROM, `ndarray shape [${rows}, ${cols}] must be non-negative integers`);
  }
  if (![s0, s1, offset].every((n) => Number.isSafeInteger(n))) {
    throw new ShapeError(OP_FROM, `ndarray strides [${s0}, ${s1}] and offset ${offset} must be integers`);
  }
  if (rows === 0 || cols === 0) {
    return { data, rows, cols, rowStride: cols, colStride: 1, offset: 0 };
  }
  const lo = offset + Math.min(0, (rows - 1) * s0) + Math.min(0, (cols - 1) * s1);
  const hi = offset + Math.max(0, (rows - 1) * s0) + Math.max(0, (cols - 1) * s1);
  if (lo < 0 || hi >= data.length) {
    throw new ShapeError(
      OP_FROM,
      `ndarray [${rows}, ${cols}] with strides [${s0}, ${s1}] and offset ${offset} reaches elements ${lo}..${hi}, outside its data of length ${data.length}`,
    );
  }
  // A stride along an axis of extent 1 is never used; normalise it so it cannot look negative.
  const rowStride = rows === 1 && s0 < 0 ? cols : s0;
  const colStride = cols === 1 && s1 < 0 ? 1 : s1;
  if (rowStride >= 0 && colStride >= 0 && nonOverlapping(rows, rowStride, cols, colStride)) {
    return { data, rows, cols, rowStride, colStride, offset };
  }
  const out = data instanceof Float32Array ? new Float32Array(rows * cols) : new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const src = offset + i * s0;
    for (let j = 0; j < cols; j++) out[i * cols + j] = data[src + j * s1]!;
  }
  return { data: out, rows, cols, rowStride: cols, colStride: 1, offset: 0 };
}

/** A Matrix as a 2-D ndarray over the same data, strides and offset (zero-copy). */
export function toNdarray<A extends FloatArray>(m: Matrix<A>): FloatNdArray<A> {
  return ndarray(m.data, [m.rows, m.cols], [m.rowStride, m.colStride], m.offset);
}
