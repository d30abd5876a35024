/**
 * The simplex equiangular tight frame (ETF): the optimum of the two-sided InfoNCE for d >= N-1
 * (THEORY 3; Lu & Steinerberger 2022, restated by CHO).
 *
 *   u_i·u_i = 1,   u_i·u_j = -1/(N-1) (i != j),   Σ_i u_i = 0,
 *   Gram G* = (N/(N-1)) I - (1/(N-1)) 11ᵀ.
 *
 * Construction (exact, no optimisation): the Helmert basis of the sum-zero subspace of R^N,
 *   h_k = (1, ..., 1, -k, 0, ..., 0) / sqrt(k(k+1))   (k ones, then -k at position k),  k = 1..N-1,
 * is orthonormal and H Hᵀ = I - 11ᵀ/N for H = [h_1 ... h_{N-1}] (N x (N-1)). The rows of
 * sqrt(N/(N-1)) H therefore have the ETF Gram; they are embedded in R^d by zero padding and,
 * when an `rng` is given, multiplied by a Haar-random orthogonal matrix of R^d.
 *
 * Example: simplexEtf(3, 2) has the rows u_0 = (√3/2, 1/2), u_1 = (-√3/2, 1/2), u_2 = (0, -1).
 */
import { DomainError } from '../core/errors.ts';
import { type Matrix64, zeros } from '../core/matrix.ts';
import type { Rng } from '../core/random.ts';
import { assertPositiveInt } from '../core/validate.ts';

export interface RandomRotationOptions {
  /** When given, the configuration is multiplied by a Haar-random orthogonal matrix of R^d drawn from it. */
  readonly rng?: Rng;
}

/**
 * A Haar-distributed random orthogonal d x d matrix (on O(d), so its determinant is ±1):
 * Q from the QR factorisation of a d x d standard Gaussian matrix with the sign fix R_kk > 0
 * (Mezzadri 2007). Computed by Gram-Schmidt on the Gaussian columns, each projection done twice
 * ("twice is enough", Giraud et al. 2005), which yields exactly the R_kk > 0 factor.
 * The Gaussian entries are drawn from `rng` row by row.
 */
export function haarOrthogonal(d: number, rng: Rng): Matrix64 {
  assertPositiveInt('haarOrthogonal', 'd', d);
  const g = new Float64Array(d * d);
  rng.fillNormal(g); // row-major: g[r*d + c]
  // Column-major working copy: q[c*d + r] holds column c.
  const q = new Float64Array(d * d);
  for (let r = 0; r < d; r++) for (let c = 0; c < d; c++) q[c * d + r] = g[r * d + c]!;
  for (let c = 0; c < d; c++) {
    const qc = c * d;
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < c; p++) {
        const qp = p * d;
        let dot = 0;
        for (let r = 0; r < d; r++) dot += q[qp + r]! * q[qc + r]!;
        for (let r = 0; r < d; r++) q[qc + r] -= dot * q[qp + r]!;
      }
    }
    let nrm = 0;
    for (let r = 0; r < d; r++) nrm += q[qc + r]! * q[qc + r]!;
    nrm = Math.sqrt(nrm);
    // A Gaussian matrix is singular with probability 0; guard anyway.
    if (!(nrm > 0)) throw new DomainError('haarOrthogonal', `Gaussian column ${c} of a ${d}x${d} draw is dependent on the previous ones`);
    for (let r = 0; r < d; r++) q[qc + r] /= nrm;
  }
  const out = zeros(d, d);
  for (let r = 0; r < d; r++) for (let c = 0; c < d; c++) out.data[r * d + c] = q[c * d + r]!;
  return out;
}

/** X Qᵀ for X (n x d, contiguous) and Q (d x d, contiguous): each row x ↦ Q x. */
export function rotateRows(x: Matrix64, q: Matrix64): Matrix64 {
  const n = x.rows;
  const d = x.cols;
  const out = zeros(n, d);
  for (let i = 0; i < n; i++) {
    const xi = i * d;
    for (let r = 0; r < d; r++) {
      const qr = r * d;
      let s = 0;
      for (let c = 0; c < d; c++) s += q.data[qr + c]! * x.data[xi + c]!;
      out.data[xi + r] = s;
    }
  }
  return out;
}

function assertEtfShape(op: string, N: number, d: number): void {
  assertPositiveInt(op, 'N', N);
  if (!Number.isInteger(d) || d < Math.max(1, N - 1)) {
    throw new DomainError(op, `a simplex ETF of N = ${N} points needs an integer dimension d >= ${Math.max(1, N - 1)}, got d = ${d}`);
  }
}

/**
 * N unit rows in R^d forming a simplex ETF (u_i·u_j = -1/(N-1) for i != j, Σ u_i = 0).
 * N = 1 gives the single unit vector e_1 (its sum cannot vanish); N = 2 gives ±e_1.
 * Needs d >= N - 1 (and d >= 1). With `opts.rng`, rotated by a Haar-random orthogonal matrix.
 *
 * Example: `simplexEtf(4, 3)` — a regular tetrahedron; `simplexEtf(4, 8, { rng: Rng.fromSeed(1) })`.
 */
export function simplexEtf(N: number, d: number, opts: RandomRotationOptions = {}): Matrix64 {
  assertEtfShape('simplexEtf', N, d);
  const u = zeros(N, d);
  if (N === 1) {
    u.data[0] = 1;
  } else {
    const scale = Math.sqrt(N / (N - 1));
    // Column k-1 holds the Helmert vector h_k scaled: rows i < k get scale/sqrt(k(k+1)),
    // row k gets -k·scale/sqrt(k(k+1)).
    for (let k = 1; k < N; k++) {
      const c = scale / Math.sqrt(k * (k + 1));
      for (let i = 0; i < k; i++) u.data[i * d + (k - 1)] = c;
      u.data[k * d + (k - 1)] = -k * c;
    }
  }
  return opts.rng ? rotateRows(u, haarOrthogonal(d, opts.rng)) : u;
}

/**
 * The ETF Gram matrix G* = (N/(N-1)) I - (1/(N-1)) 11ᵀ (ones on the diagonal, -1/(N-1) elsewhere).
 * For N = 1 it is [[1]].
 */
export function etfGram(N: number): Matrix64 {
  assertPositiveInt('etfGram', 'N', N);
  const g = zeros(N, N);
  const off = N === 1 ? 0 : -1 / (N - 1);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) g.data[i * N + j] = i === j ? 1 : off;
  return g;
}
