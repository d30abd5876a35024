/**
 * Float64 dense linear algebra for the spectral batch selection: C ← α·A·B + β·C on strided
 * Matrix64 views through a float64 backend's `gemm` (the blocked WebAssembly kernel), and the small
 * helpers the eigen-solvers and k-means share.
 *
 * The spectral code does its eigen-solves and k-means in float64 whatever precision the caller's
 * backend has: a float32 backend is used for the affinity tiles (S = U Vᵀ/τ), and a float64 CPU
 * backend, created once on first use, for everything else.
 */
import { createCpuBackend } from '../../backend/cpu/index.ts';
import type { Backend } from '../../backend/types.ts';
import { type Matrix64 } from '../../core/matrix.ts';

let f64Fallback: Backend | null = null;

/** `be` itself when it computes in float64, else a shared float64 CPU backend. */
export function float64Backend(be: Backend): Backend {
  if (be.dtype === 'f64') return be;
  f64Fallback ??= createCpuBackend({ dtype: 'f64' });
  return f64Fallback;
}

/** C ← α·A·B + β·C (all float64 views; `la` must be a float64 backend). */
export function gemm64(la: Backend, alpha: number, A: Matrix64, B: Matrix64, beta: number, C: Matrix64): void {
  la.kernels.gemm(alpha, A, B, beta, C);
}

/** A view of columns c0..c0+nc−1 of the row-major n x ld buffer `data` (all n rows). */
export function colBlock(data: Float64Array, n: number, ld: number, c0: number, nc: number): Matrix64 {
  return { data, rows: n, cols: nc, rowStride: ld, colStride: 1, offset: c0 };
}

/** A contiguous row-major n x m view over `data`. */
export function dense(data: Float64Array, n: number, m: number): Matrix64 {
  return { data, rows: n, cols: m, rowStride: m, colStride: 1, offset: 0 };
}

/** Copies the strided view `src` into the strided view `dst` (same shape). */
export function copyInto(src: Matrix64, dst: Matrix64): void {
  for (let i = 0; i < src.rows; i++) {
    const si = src.offset + i * src.rowStride;
    const di = dst.offset + i * dst.rowStride;
    for (let j = 0; j < src.cols; j++) dst.data[di + j * dst.colStride] = src.data[si + j * src.colStride]!;
  }
}
