/**
 * Broken pair log-sum-exps for the named mutants of src/core/mutants.ts (test hooks only; see there).
 * Materialised (n x n) and direct, like the reference backend, with one mistake each:
 *   'lse-no-max-shift'      lse = log Σ_j exp(S_ij), no shift by max_j S_ij (overflows for S > 709 in
 *                           float64, S > 88 in float32);
 *   'lse-f32-accumulation'  the shifted exponentials summed in a float32 accumulator.
 */
import type { DType, Matrix } from '../../core/matrix.ts';
import { pairKeep } from '../reference.ts';
import type { PairLseResult, PairSpec } from '../types.ts';

export function mutantPairLse(U: Matrix, V: Matrix, spec: PairSpec, want: { row: boolean; col: boolean }, dtype: DType, kind: 'lse-no-max-shift' | 'lse-f32-accumulation'): PairLseResult {
  const r = dtype === 'f32' ? Math.fround : (x: number) => x;
  const acc = kind === 'lse-f32-accumulation' ? Math.fround : r;
  const n = U.rows;
  const d = U.cols;
  const S = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s = r(s + r(U.data[U.offset + i * U.rowStride + k * U.colStride]! * V.data[V.offset + j * V.rowStride + k * V.colStride]!));
      S[i * n + j] = r(s / r(spec.tau));
    }
  }
  const keep = pairKeep(spec, n);
  const shift = ((Math.trunc(spec.positiveShift) % n) + n) % n;
  const line = (i: number, byRow: boolean): number => {
    const at = (j: number) => (byRow ? [i, j] : [j, i]) as [number, number];
    let mx = 0;
    if (kind !== 'lse-no-max-shift') {
      mx = -Infinity;
      for (let j = 0; j < n; j++) { const [a, b] = at(j); if (keep(a, b)) mx = Math.max(mx, S[a * n + b]!); }
      if (mx === -Infinity) return -Infinity;
    }
    let sum = 0;
    for (let j = 0; j < n; j++) { const [a, b] = at(j); if (keep(a, b)) sum = acc(sum + r(Math.exp(r(S[a * n + b]! - mx)))); }
    return r(mx + r(Math.log(sum)));
  };
  const positive = new Float64Array(n);
  for (let i = 0; i < n; i++) positive[i] = S[i * n + ((i + shift) % n)]!;
  return {
    lseRow: want.row ? Float64Array.from({ length: n }, (_, i) => line(i, true)) : null,
    lseCol: want.col ? Float64Array.from({ length: n }, (_, j) => line(j, false)) : null,
    positive,
  };
}
