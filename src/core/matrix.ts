/**
 * Strided row-major matrix views over Float64Array / Float32Array (stdlib/BLAS style).
 *
 * Element (i, j) lives at `data[offset + i*rowStride + j*colStride]`. A block, an evenly strided
 * row subset or a transpose is a view (no copy); an arbitrary row subset is a gather (copy).
 */
import { assertFitsBudget } from './budget.ts';
import { ShapeError } from './errors.ts';

export type DType = 'f64' | 'f32';
export type FloatArray = Float64Array | Float32Array;

export interface Matrix<A extends FloatArray = FloatArray> {
  readonly data: A;
  readonly rows: number;
  readonly cols: number;
  readonly rowStride: number;
  readonly colStride: number;
  readonly offset: number;
}

export type Matrix64 = Matrix<Float64Array>;
export type Matrix32 = Matrix<Float32Array>;

export function dtypeOf(m: Matrix | FloatArray): DType {
  const data = 'data' in m ? m.data : m;
  return data instanceof Float32Array ? 'f32' : 'f64';
}

export function allocArray(dtype: DType, length: number): FloatArray {
  // Checked before allocating: an impossible size is a CapExceededError naming it, not an OOM crash.
  if (length > 1 << 20) assertFitsBudget('allocate', `an array of ${length} ${dtype === 'f32' ? 'float32' : 'float64'} values`, length * (dtype === 'f32' ? 4 : 8));
  return dtype === 'f32' ? new Float32Array(length) : new Float64Array(length);
}

/** A contiguous row-major view over `data` (length must be rows*cols unless an offset is given). */
export function matrix<A extends FloatArray>(data: A, rows: number, cols: number, offset = 0): Matrix<A> {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new ShapeError('matrix', `shape must be non-negative integers, got ${rows}x${cols}`);
  }
  if (offset + rows * cols > data.length) {
    throw new ShapeError('matrix', `${rows}x${cols} at offset ${offset} needs ${offset + rows * cols} elements, buffer has ${data.length}`);
  }
  return { data, rows, cols, rowStride: cols, colStride: 1, offset };
}

export function zeros(rows: number, cols: number, dtype: 'f32'): Matrix32;
export function zeros(rows: number, cols: number, dtype?: 'f64'): Matrix64;
export function zeros(rows: number, cols: number, dtype?: DType): Matrix;
export function zeros(rows: number, cols: number, dtype: DType = 'f64'): Matrix {
  return matrix(allocArray(dtype, rows * cols), rows, cols);
}

export function fromRows(rows: ArrayLike<number>[], dtype: DType = 'f64'): Matrix {
  const r = rows.length;
  const c = r === 0 ? 0 : rows[0]!.length;
  const m = zeros(r, c, dtype);
  for (let i = 0; i < r; i++) {
    const row = rows[i]!;
    if (row.length !== c) throw new ShapeError('fromRows', `row 0 has ${c} entries but row ${i} has ${row.length}`);
    for (let j = 0; j < c; j++) m.data[i * c + j] = row[j]!;
  }
  return m;
}

export function toRows(m: Matrix): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < m.rows; i++) {
    const row: number[] = new Array(m.cols);
    for (let j = 0; j < m.cols; j++) row[j] = m.data[m.offset + i * m.rowStride + j * m.colStride]!;
    out.push(row);
  }
  return out;
}

export function get(m: Matrix, i: number, j: number): number {
  return m.data[m.offset + i * m.rowStride + j * m.colStride]!;
}

export function set(m: Matrix, i: number, j: number, x: number): void {
  m.data[m.offset + i * m.rowStride + j * m.colStride] = x;
}

export function shapeStr(m: { rows: number; cols: number }): string {
  return `${m.rows}x${m.cols}`;
}

/** Transpose as a view: swaps the shape and the strides. */
export function transpose<A extends FloatArray>(m: Matrix<A>): Matrix<A> {
  return { data: m.data, rows: m.cols, cols: m.rows, rowStride: m.colStride, colStride: m.rowStride, offset: m.offset };
}

/** The block of `nr` x `nc` starting at (r0, c0), as a view. */
export function block<A extends FloatArray>(m: Matrix<A>, r0: number, c0: number, nr: number, nc: number): Matrix<A> {
  if (r0 < 0 || c0 < 0 || nr < 0 || nc < 0 || r0 + nr > m.rows || c0 + nc > m.cols) {
    throw new ShapeError('block', `block ${nr}x${nc} at (${r0},${c0}) does not fit in ${shapeStr(m)}`);
  }
  return {
    data: m.data, rows: nr, cols: nc, rowStride: m.rowStride, colStride: m.colStride,
    offset: m.offset + r0 * m.rowStride + c0 * m.colStride,
  };
}

/** Rows start, start+step, ... (count of them), as a view. */
export function rowRange<A extends FloatArray>(m: Matrix<A>, start: number, count: number, step = 1): Matrix<A> {
  if (!Number.isInteger(step) || step < 1 || start < 0 || count < 0 || (count > 0 && start + (count - 1) * step >= m.rows)) {
    throw new ShapeError('rowRange', `rows ${start}+k*${step}, k<${count} do not fit in ${shapeStr(m)}`);
  }
  return { data: m.data, rows: count, cols: m.cols, rowStride: m.rowStride * step, colStride: m.colStride, offset: m.offset + start * m.rowStride };
}

/** Copies the rows `idx` (any order, repeats allowed) into a new contiguous matrix of dtype `dtype`. */
export function gatherRows(m: Matrix, idx: ArrayLike<number>, dtype: DType = dtypeOf(m)): Matrix {
  const out = zeros(idx.length, m.cols, dtype);
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k]!;
    if (!Number.isInteger(i) || i < 0 || i >= m.rows) {
      throw new ShapeError('gatherRows', `row index ${i} (position ${k}) is outside 0..${m.rows - 1}`);
    }
    const src = m.offset + i * m.rowStride;
    const dst = k * m.cols;
    for (let j = 0; j < m.cols; j++) out.data[dst + j] = m.data[src + j * m.colStride]!;
  }
  return out;
}

export function isContiguous(m: Matrix): boolean {
  return m.colStride === 1 && (m.rowStride === m.cols || m.rows <= 1);
}

/** A contiguous row-major copy (or `m` itself when it already is contiguous with that dtype and offset 0). */
export function toContiguous(m: Matrix, dtype: DType = dtypeOf(m)): Matrix {
  if (isContiguous(m) && dtypeOf(m) === dtype && m.offset === 0 && m.data.length === m.rows * m.cols) return m;
  const out = zeros(m.rows, m.cols, dtype);
  for (let i = 0; i < m.rows; i++) {
    const src = m.offset + i * m.rowStride;
    const dst = i * m.cols;
    for (let j = 0; j < m.cols; j++) out.data[dst + j] = m.data[src + j * m.colStride]!;
  }
  return out;
}

export function clone(m: Matrix): Matrix {
  const c = toContiguous(m);
  return c === m ? matrix(m.data.slice(), m.rows, m.cols) : c;
}

/** Frobenius norm, with a scaled sum of squares (no overflow for large entries). */
export function frobeniusNorm(...ms: Matrix[]): number {
  let scale = 0;
  let ssq = 1;
  for (const m of ms) {
    for (let i = 0; i < m.rows; i++) {
      for (let j = 0; j < m.cols; j++) {
        const x = Math.abs(m.data[m.offset + i * m.rowStride + j * m.colStride]!);
        if (x === 0) continue;
        if (scale < x) { ssq = 1 + ssq * (scale / x) ** 2; scale = x; } else ssq += (x / scale) ** 2;
      }
    }
  }
  return scale * Math.sqrt(ssq);
}
