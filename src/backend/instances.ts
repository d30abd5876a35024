/**
 * Random pair-softmax instances shared by the backend contract tests and the numerics claims:
 * layout 'pairs' (independent U, V, positive shift 0), 'shifted' (shift ⌊n/2⌋) or 'stacked'
 * (n = 2m, U = V = [X; Y], shift m: the unimodal GCL layout, where (i, i) is the large
 * self-similarity and (i, i+m) the positive).
 */
import type { DType, Matrix } from '../core/matrix.ts';
import { zeros } from '../core/matrix.ts';
import type { Rng } from '../core/random.ts';
import type { PairExclusion, PairGradCoefficients, PairSpec } from './types.ts';

export type PairLayout = 'pairs' | 'shifted' | 'stacked';

export interface PairInstanceParams {
  readonly n: number;
  readonly d: number;
  readonly tau: number;
  readonly exclude: PairExclusion;
  readonly layout: PairLayout;
  readonly kind: 'unit' | 'gauss';
  /** Bit b set: coefficient vector b (row, col, pos) is random (normal / n), else null. */
  readonly coefMask: number;
}

export interface PairInstance {
  /** In the requested dtype. */
  readonly U: Matrix;
  readonly V: Matrix;
  readonly spec: PairSpec;
  readonly coef: Omit<PairGradCoefficients, 'lseRow' | 'lseCol'>;
}

/** n x d matrix in `dtype`: unit rows, or Gaussian entries of standard deviation `scale`. */
export function randomMatrix(rng: Rng, n: number, d: number, dtype: DType, kind: 'unit' | 'gauss', scale = 1): Matrix {
  const m = zeros(n, d, dtype);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) {
      const x = rng.normal();
      m.data[i * d + j] = x;
      s += x * x;
    }
    const f = kind === 'unit' ? 1 / Math.sqrt(s || 1) : scale;
    for (let j = 0; j < d; j++) m.data[i * d + j] = m.data[i * d + j]! * f;
  }
  return m;
}

export function pairInstance(rng: Rng, dtype: DType, p: PairInstanceParams): PairInstance {
  let n = p.n;
  let U: Matrix;
  let V: Matrix;
  let shift = 0;
  if (p.layout === 'stacked') {
    const m = Math.max(1, Math.floor(n / 2));
    n = 2 * m;
    U = randomMatrix(rng, n, p.d, dtype, p.kind);
    V = U;
    shift = m;
  } else {
    U = randomMatrix(rng, n, p.d, dtype, p.kind);
    V = randomMatrix(rng, n, p.d, dtype, p.kind);
    shift = p.layout === 'shifted' ? Math.floor(n / 2) : 0;
  }
  const vec = (bit: number) => ((p.coefMask >> bit) & 1 ? Float64Array.from({ length: n }, () => rng.normal() / n) : null);
  return { U, V, spec: { tau: p.tau, positiveShift: shift, exclude: p.exclude }, coef: { rowCoef: vec(0), colCoef: vec(1), posCoef: vec(2) } };
}
