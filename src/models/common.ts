/** Shared pieces of the models: float64 products through the backend, row normalisation and its backward. */
import { defaultBackend } from '../backend/index.ts';
import type { Backend } from '../backend/types.ts';
import { ShapeError, ZeroRowError } from '../core/errors.ts';
import { block, type Matrix64, shapeStr, transpose, zeros } from '../core/matrix.ts';
import type { Params } from '../optim/types.ts';

/** `be` when it computes in float64, else the default float64 CPU backend. */
export function f64(be: Backend): Backend {
  return be.dtype === 'f64' ? be : defaultBackend();
}

/**
 * Rows per gemm call in the products over all N examples: bounds the backend's staging buffers
 * (the CPU backend stages A, B and an m x n result panel) to a few MiB whatever N is.
 */
export const ROW_CHUNK = 4096;

/** A Bᵀ: (m x k)(n x k)ᵀ = m x n, through the backend's gemm, ROW_CHUNK rows of A at a time. */
export function matmulABt(be: Backend, A: Matrix64, B: Matrix64): Matrix64 {
  const C = zeros(A.rows, B.rows);
  const k = f64(be).kernels;
  const Bt = transpose(B);
  for (let r0 = 0; r0 < A.rows; r0 += ROW_CHUNK) {
    const nr = Math.min(ROW_CHUNK, A.rows - r0);
    k.gemm(1, block(A, r0, 0, nr, A.cols), Bt, 0, block(C, r0, 0, nr, C.cols));
  }
  return C;
}

/**
 * C ← Aᵀ B + β C: (m x k)ᵀ(m x n) = k x n, through the backend's gemm, accumulated over
 * ROW_CHUNK rows of A and B at a time.
 */
export function matmulAtB(be: Backend, A: Matrix64, B: Matrix64, beta = 0, C: Matrix64 = zeros(A.cols, B.cols)): Matrix64 {
  if (A.rows !== B.rows) throw new ShapeError('matmulAtB', `A is ${shapeStr(A)} but B is ${shapeStr(B)}`);
  const k = f64(be).kernels;
  if (A.rows === 0) {
    k.gemm(1, transpose(A), B, beta, C);
    return C;
  }
  for (let r0 = 0; r0 < A.rows; r0 += ROW_CHUNK) {
    const nr = Math.min(ROW_CHUNK, A.rows - r0);
    k.gemm(1, transpose(block(A, r0, 0, nr, A.cols)), block(B, r0, 0, nr, B.cols), r0 === 0 ? beta : 1, C);
  }
  return C;
}

/** A B: (m x k)(k x n) = m x n, through the backend's gemm, ROW_CHUNK rows of A at a time. */
export function matmulAB(be: Backend, A: Matrix64, B: Matrix64): Matrix64 {
  const C = zeros(A.rows, B.cols);
  const k = f64(be).kernels;
  for (let r0 = 0; r0 < A.rows; r0 += ROW_CHUNK) {
    const nr = Math.min(ROW_CHUNK, A.rows - r0);
    k.gemm(1, block(A, r0, 0, nr, A.cols), B, 0, block(C, r0, 0, nr, C.cols));
  }
  return C;
}

/**
 * Row normalisation û_i = z_i / ‖z_i‖ with the norms. Without `eps` a zero (or non-finite) row is a
 * ZeroRowError naming the row. With `eps` > 0 it is PyTorch's F.normalize: û_i = z_i / max(‖z_i‖, ε),
 * so a zero row maps to the zero row; `clamped[i]` = 1 marks rows with ‖z_i‖ < ε.
 */
export function normalizeWithNorms(Z: Matrix64, op: string, name: string, eps = 0): { U: Matrix64; norms: Float64Array; clamped: Uint8Array | null } {
  const { rows, cols } = Z;
  const U = zeros(rows, cols);
  const norms = new Float64Array(rows);
  let clamped: Uint8Array | null = null;
  for (let i = 0; i < rows; i++) {
    const b = Z.offset + i * Z.rowStride;
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const x = Z.data[b + j * Z.colStride]!;
      s += x * x;
    }
    let nrm = Math.sqrt(s);
    if (!Number.isFinite(nrm)) throw new ZeroRowError(op, `${name} row ${i} has norm ${nrm} and cannot be normalised`);
    if (nrm < eps) {
      clamped ??= new Uint8Array(rows);
      clamped[i] = 1;
      nrm = eps;
    }
    if (!(nrm > 0)) throw new ZeroRowError(op, `${name} row ${i} has norm ${nrm} and cannot be normalised`);
    norms[i] = nrm;
    const inv = 1 / nrm;
    for (let j = 0; j < cols; j++) U.data[i * cols + j] = Z.data[b + j * Z.colStride]! * inv;
  }
  return { U, norms, clamped };
}

/**
 * Backward of u = z/‖z‖ row by row: ∂/∂z = (g − (g·u) u)/‖z‖. Rows marked `clamped` (‖z‖ < ε, in
 * practice z = 0, where the normalisation has no derivative) get 0, not F.normalize's g/ε: the two
 * agree whenever the zero comes from a zero input to the last linear layer (dead ReLUs, a fully
 * masked input), and 0 avoids 1e12-sized steps otherwise. Returns a new contiguous matrix.
 */
export function normalizeBackward(U: Matrix64, norms: Float64Array, G: Matrix64, op: string, clamped: Uint8Array | null = null): Matrix64 {
  if (G.rows !== U.rows || G.cols !== U.cols) throw new ShapeError(op, `gradient is ${shapeStr(G)} but the embeddings are ${shapeStr(U)}`);
  const { rows, cols } = U;
  const out = zeros(rows, cols);
  for (let i = 0; i < rows; i++) {
    const gb = G.offset + i * G.rowStride;
    const ub = i * cols;
    if (clamped && clamped[i] === 1) continue;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += G.data[gb + j * G.colStride]! * U.data[ub + j]!;
    const inv = 1 / norms[i]!;
    for (let j = 0; j < cols; j++) out.data[ub + j] = (G.data[gb + j * G.colStride]! - dot * U.data[ub + j]!) * inv;
  }
  return out;
}

/** Frobenius norm over every matrix of a parameter set (plain sum of squares: gradients are O(1)). */
export function paramsNorm(p: Params): number {
  let s = 0;
  for (const k of Object.keys(p)) {
    const m = p[k]!;
    for (let i = 0; i < m.rows; i++) {
      const b = m.offset + i * m.rowStride;
      for (let j = 0; j < m.cols; j++) {
        const x = m.data[b + j * m.colStride]!;
        s += x * x;
      }
    }
  }
  return Math.sqrt(s);
}

/** Throws unless params has exactly the expected keys with the expected shapes. */
export function assertParams(op: string, params: Params, shapes: Record<string, [number, number]>): void {
  for (const k of Object.keys(shapes)) {
    const m = params[k];
    const [r, c] = shapes[k]!;
    if (!m) throw new ShapeError(op, `params.${k} is missing (expected ${r}x${c})`);
    if (m.rows !== r || m.cols !== c) throw new ShapeError(op, `params.${k} is ${shapeStr(m)}, expected ${r}x${c}`);
  }
}

/** Throws unless every index is an integer in [0, n). */
export function assertIndex(op: string, index: Int32Array, n: number): void {
  for (let k = 0; k < index.length; k++) {
    const i = index[k]!;
    if (i < 0 || i >= n) throw new ShapeError(op, `index ${i} (position ${k}) is outside 0..${n - 1}`);
  }
}
