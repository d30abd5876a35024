/**
 * The K top eigenpairs (largest algebraic eigenvalues) of the symmetric normalised affinity
 * M = D^{-1/2} E D^{-1/2} (spectrum in [−1, 1]), two ways:
 *
 * - `denseTopEigenpairs`: ml-matrix's symmetric `EigenvalueDecomposition` (Householder
 *   tridiagonalisation + implicit QL, JAMA's tred2/tql2) of the stored N x N matrix; O(N³) time,
 *   O(N²) memory. The reference.
 * - `lanczosTopEigenpairs`: thick-restart block Lanczos with full reorthogonalisation, on any
 *   operator that multiplies M by a block of p vectors (stored, or streamed from the embeddings).
 *   The Krylov basis Q (N x m) and AQ = M Q are kept; the projected matrix T = Qᵀ M Q is formed
 *   explicitly (so the Rayleigh–Ritz step does not rely on the three-term recurrence, which loses
 *   orthogonality in floating point). Each step applies M to the newest block and orthogonalises
 *   the product against the whole basis: that is the next block of block Lanczos (Golub &
 *   Underwood 1977) with full reorthogonalisation. Every few blocks (and always when the basis is
 *   full) T is diagonalised (Rayleigh–Ritz); when the basis reaches m columns it is thick-restarted
 *   (Wu & Simon 2000) with the K + p leading Ritz vectors, and the Krylov sequence continues from
 *   the newest block's residual, which is orthogonal to everything kept. New blocks are
 *   orthogonalised against Q by classical Gram–Schmidt done twice ("twice is enough") and within
 *   the block by modified Gram–Schmidt done twice; a column that vanishes (an invariant subspace
 *   was found) is replaced by a random one drawn from the Rng.
 *   Convergence: every one of the K wanted Ritz pairs has ‖M y − θ y‖ ≤ tol (‖M‖ ≤ 1, so tol is
 *   relative); then |θ − λ| ≤ ‖r‖²/gap and sin∠(y, eigvec) ≤ ‖r‖/gap. Memory O(N·m + m²).
 */
import { EigenvalueDecomposition, Matrix as MlMatrix } from 'ml-matrix';
import type { Backend } from '../../backend/types.ts';
import { DomainError } from '../../core/errors.ts';
import { type Matrix64, transpose, zeros } from '../../core/matrix.ts';
import type { Rng } from '../../core/random.ts';
import type { SymOperator } from './affinity.ts';
import { colBlock, copyInto, dense, gemm64 } from './linalg.ts';

export interface EigenResult {
  /** The K largest eigenvalues (Ritz values), descending. */
  readonly values: Float64Array;
  /** N x K, orthonormal columns, column k for values[k]. */
  readonly vectors: Matrix64;
  /** ‖M y_k − θ_k y_k‖ per pair. */
  readonly residuals: Float64Array;
  /** Every residual ≤ tol (dense: always true). */
  readonly converged: boolean;
  /** Operator applications (block products) used. */
  readonly applications: number;
  /** Thick restarts done. */
  readonly restarts: number;
}

/** Eigen-decomposition of a small symmetric matrix (row-major c x c): values descending, Z column-wise (row-major c x c). */
export function symmetricEigen(A: Float64Array, c: number): { values: Float64Array; Z: Float64Array } {
  const m = MlMatrix.from1DArray(c, c, A.subarray(0, c * c));
  const evd = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  const lam = evd.realEigenvalues;
  const vec = evd.eigenvectorMatrix;
  const order = Array.from({ length: c }, (_, i) => i).sort((a, b) => lam[b]! - lam[a]! || a - b);
  const values = new Float64Array(c);
  const Z = new Float64Array(c * c);
  for (let k = 0; k < c; k++) {
    const src = order[k]!;
    values[k] = lam[src]!;
    for (let i = 0; i < c; i++) Z[i * c + k] = vec.get(i, src);
  }
  return { values, Z };
}

/** Column norms of a row-major n x q view. */
function columnNorms(X: Matrix64): Float64Array {
  const out = new Float64Array(X.cols);
  for (let i = 0; i < X.rows; i++) {
    const b = X.offset + i * X.rowStride;
    for (let j = 0; j < X.cols; j++) out[j] += X.data[b + j]! ** 2;
  }
  for (let j = 0; j < X.cols; j++) out[j] = Math.sqrt(out[j]!);
  return out;
}

/**
 * The K top eigenpairs of a stored symmetric N x N matrix by ml-matrix's full symmetric
 * eigen-decomposition. Residuals are computed (one N x N x K product on `la`).
 */
export function denseTopEigenpairs(M: Matrix64, K: number, la: Backend): EigenResult {
  const n = M.rows;
  if (!Number.isInteger(K) || K < 1 || K > n) throw new DomainError('denseTopEigenpairs', `K must be an integer in [1, ${n}], got ${K}`);
  const A = new Float64Array(n * n);
  copyInto(M, dense(A, n, n));
  const { values, Z } = symmetricEigen(A, n);
  const vectors = zeros(n, K);
  for (let i = 0; i < n; i++) for (let k = 0; k < K; k++) vectors.data[i * K + k] = Z[i * n + k]!;
  const MZ = zeros(n, K);
  gemm64(la, 1, M, vectors, 0, MZ);
  for (let i = 0; i < n; i++) for (let k = 0; k < K; k++) MZ.data[i * K + k] -= values[k]! * vectors.data[i * K + k]!;
  return { values: values.slice(0, K), vectors, residuals: columnNorms(MZ), converged: true, applications: 0, restarts: 0 };
}

export interface LanczosOptions {
  /** Random start block and replacements for vanished columns. */
  readonly rng: Rng;
  /** Float64 backend for the basis products. */
  readonly la: Backend;
  /** Block size p (default min(K, 32), at most N). */
  readonly blockSize?: number;
  /** Basis size m before a thick restart (default max(2K + 2p, K + 4p); at least K + 2p, at most N). */
  readonly maxBasis?: number;
  /** Residual tolerance (default 1e-8). */
  readonly tol?: number;
  /** Cap on operator applications (default 300). */
  readonly maxApplications?: number;
  /** A vector (length N) to place first in the start block, e.g. a known eigenvector. */
  readonly start?: Float64Array;
  /** Rayleigh–Ritz (convergence check) every this many blocks, and always before a restart (default 2). */
  readonly rayleighRitzEvery?: number;
}

/**
 * Orthogonalises the columns of X (contiguous n x q) against Q (n x c view, orthonormal columns),
 * twice, then orthonormalises them among themselves (modified Gram–Schmidt, twice). A column whose
 * norm drops below 1e-10 of its norm before is replaced by a random vector treated the same way.
 */
function orthonormalizeAgainst(X: Matrix64, Q: Matrix64, la: Backend, rng: Rng): void {
  const n = X.rows;
  const q = X.cols;
  const c = Q.cols;
  const H = zeros(c, q);
  const project = (Xv: Matrix64): void => {
    if (c === 0) return;
    const Hv = Xv.cols === q ? H : zeros(c, Xv.cols);
    for (let pass = 0; pass < 2; pass++) {
      gemm64(la, 1, transpose(Q), Xv, 0, Hv);
      gemm64(la, -1, Q, Hv, 1, Xv);
    }
  };
  project(X);
  const x = X.data;
  const col = zeros(n, 1);
  for (let j = 0; j < q; j++) {
    for (let attempt = 0; ; attempt++) {
      let before = 0;
      for (let i = 0; i < n; i++) before += x[i * q + j]! ** 2;
      before = Math.sqrt(before);
      for (let pass = 0; pass < 2; pass++) {
        for (let k = 0; k < j; k++) {
          let dot = 0;
          for (let i = 0; i < n; i++) dot += x[i * q + k]! * x[i * q + j]!;
          for (let i = 0; i < n; i++) x[i * q + j] -= dot * x[i * q + k]!;
        }
      }
      let after = 0;
      for (let i = 0; i < n; i++) after += x[i * q + j]! ** 2;
      after = Math.sqrt(after);
      if (after > 1e-10 * before && after > 0) {
        for (let i = 0; i < n; i++) x[i * q + j] /= after;
        break;
      }
      if (attempt >= 8) throw new DomainError('lanczos', `cannot extend an orthonormal basis of ${c + j} vectors in R^${n}`);
      // Replace the vanished column by a random vector orthogonal to Q.
      for (let i = 0; i < n; i++) col.data[i] = rng.normal();
      project(col);
      for (let i = 0; i < n; i++) x[i * q + j] = col.data[i]!;
    }
  }
}

/** Thick-restart block Lanczos for the K largest eigenpairs of `op` (see the file comment). */
export function lanczosTopEigenpairs(op: SymOperator, K: number, opts: LanczosOptions): EigenResult {
  const n = op.n;
  if (!Number.isInteger(K) || K < 1 || K > n) throw new DomainError('lanczos', `K must be an integer in [1, ${n}], got ${K}`);
  const la = opts.la;
  const tol = opts.tol ?? 1e-8;
  const maxApps = opts.maxApplications ?? 300;
  const p = Math.max(1, Math.min(opts.blockSize ?? Math.min(K, 32), n));
  // m >= K + 2p so that a restart (which keeps K + p Ritz vectors) leaves room for a block.
  const m = Math.min(n, Math.max(opts.maxBasis ?? Math.max(2 * K + 2 * p, K + 4 * p), K + 2 * p));
  const rrEvery = opts.rayleighRitzEvery ?? 2;
  if (!(tol > 0)) throw new DomainError('lanczos', `tol must be > 0, got ${tol}`);
  if (!Number.isInteger(maxApps) || maxApps < 1) throw new DomainError('lanczos', `maxApplications must be an integer >= 1, got ${maxApps}`);
  if (!Number.isInteger(rrEvery) || rrEvery < 1) throw new DomainError('lanczos', `rayleighRitzEvery must be an integer >= 1, got ${rrEvery}`);

  const Q = new Float64Array(n * m);
  const AQ = new Float64Array(n * m);
  const T = new Float64Array(m * m);
  const startApps = op.applications;
  let c = 0;
  let restarts = 0;
  let sinceRR = 0;

  // Start block: the given vector (if any) and random normals.
  let X = zeros(n, Math.min(p, m));
  for (let i = 0; i < X.data.length; i++) X.data[i] = opts.rng.normal();
  if (opts.start) for (let i = 0; i < n; i++) X.data[i * X.cols] = opts.start[i]!;
  orthonormalizeAgainst(X, colBlock(Q, n, m, 0, 0), la, opts.rng);

  for (;;) {
    // Append X to the basis, apply the operator, extend T = Qᵀ M Q (explicit projection).
    const q = X.cols;
    const c0 = c;
    copyInto(X, colBlock(Q, n, m, c0, q));
    const Y = zeros(n, q);
    op.apply(X, Y);
    copyInto(Y, colBlock(AQ, n, m, c0, q));
    const c1 = c0 + q;
    const Tcol = zeros(c1, q);
    gemm64(la, 1, transpose(colBlock(Q, n, m, 0, c1)), Y, 0, Tcol);
    for (let i = 0; i < c1; i++) {
      for (let j = 0; j < q; j++) {
        let v = Tcol.data[i * q + j]!;
        if (i >= c0) {
          const ii = i - c0; // diagonal block: symmetrise
          if (ii < j) continue;
          v = (v + Tcol.data[(c0 + j) * q + ii]!) / 2;
        }
        T[i * m + c0 + j] = v;
        T[(c0 + j) * m + i] = v;
      }
    }
    c = c1;
    sinceRR++;
    const apps = op.applications - startApps;

    // The next Lanczos block: M·(last block) orthogonalised against the whole basis (it is the
    // residual of the last block; after a thick restart it continues the Krylov sequence).
    const full = c >= n;
    const qn = Math.min(p, n - c);
    const needRestart = !full && c + qn > m;
    const rr = full || apps >= maxApps || needRestart || (c >= K && sinceRR >= rrEvery);
    let Xn: Matrix64 | null = null;
    if (!full && !(rr && apps >= maxApps)) {
      Xn = zeros(n, qn);
      for (let i = 0; i < n; i++) for (let j = 0; j < qn; j++) Xn.data[i * qn + j] = j < q ? Y.data[i * q + j]! : opts.rng.normal();
      orthonormalizeAgainst(Xn, colBlock(Q, n, m, 0, c), la, opts.rng);
    }
    if (!rr) {
      X = Xn!;
      continue;
    }

    // Rayleigh–Ritz on the c-dimensional basis.
    sinceRR = 0;
    const Tc = new Float64Array(c * c);
    for (let i = 0; i < c; i++) for (let j = 0; j < c; j++) Tc[i * c + j] = T[i * m + j]!;
    const { values: theta, Z } = symmetricEigen(Tc, c);
    const kr = Math.min(c, K + p);
    const Zk = zeros(c, kr);
    for (let i = 0; i < c; i++) for (let k = 0; k < kr; k++) Zk.data[i * kr + k] = Z[i * c + k]!;
    const Yr = zeros(n, kr);
    const AZ = zeros(n, kr);
    gemm64(la, 1, colBlock(Q, n, m, 0, c), Zk, 0, Yr);
    gemm64(la, 1, colBlock(AQ, n, m, 0, c), Zk, 0, AZ);
    const R = zeros(n, kr);
    for (let i = 0; i < n; i++) for (let k = 0; k < kr; k++) R.data[i * kr + k] = AZ.data[i * kr + k]! - theta[k]! * Yr.data[i * kr + k]!;
    const res = columnNorms(R);
    let converged = c >= K;
    for (let k = 0; k < Math.min(K, kr); k++) if (!(res[k]! <= tol)) converged = false;
    if (converged || full || apps >= maxApps) {
      const vectors = zeros(n, K);
      for (let i = 0; i < n; i++) for (let k = 0; k < K; k++) vectors.data[i * K + k] = Yr.data[i * kr + k]!;
      return {
        values: theta.slice(0, K), vectors, residuals: res.slice(0, K),
        converged: converged || full, applications: apps, restarts,
      };
    }
    if (needRestart) {
      // Thick restart with the kr leading Ritz vectors: Q ← Q Z_kr, AQ ← AQ Z_kr, T ← diag(θ).
      copyInto(Yr, colBlock(Q, n, m, 0, kr));
      copyInto(AZ, colBlock(AQ, n, m, 0, kr));
      T.fill(0);
      for (let k = 0; k < kr; k++) T[k * m + k] = theta[k]!;
      c = kr;
      restarts++;
      // Xn is orthogonal to the old basis, hence to the kept Ritz vectors; re-orthogonalise
      // against them anyway (rounding) and trim it to the room left.
      const qk = Math.min(qn, m - c);
      const Xk = zeros(n, qk);
      for (let i = 0; i < n; i++) for (let j = 0; j < qk; j++) Xk.data[i * qk + j] = Xn!.data[i * qn + j]!;
      orthonormalizeAgainst(Xk, colBlock(Q, n, m, 0, c), la, opts.rng);
      Xn = Xk;
    }
    X = Xn!;
  }
}
