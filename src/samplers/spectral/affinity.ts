/**
 * CHO's spectral affinity (THEORY 4, CHO Algorithm 1), computed in T x T tiles.
 *
 *   S = U Vᵀ / τ,   sp(x) = log(1 + (B−1)·eˣ)
 *   A_ij = sp(S_ij − S_ii) + sp(S_ji − S_ii),    W = A + Aᵀ,
 *   so W_ij = sp(S_ij − S_ii) + sp(S_ji − S_ii) + sp(S_ji − S_jj) + sp(S_ij − S_jj)   (W_ii = 4·log B).
 *
 * sp is evaluated as a softplus, sp(x) = softplus(x + log(B−1)) with softplus(t) = t + log1p(e^{−t})
 * for t > 0 and log1p(e^{t}) otherwise: no overflow for any finite S (at τ = 0.01, |S| ≤ 100 for
 * unit rows and e^{100} would already lose everything in float32).
 *
 * The graph and its normalisation. CHO's code passes the similarity exp(W) to scikit-learn's
 * `spectral_embedding(norm_laplacian=True)`, whose Laplacian (scipy.sparse.csgraph.laplacian) drops
 * the diagonal (no self-loops): degrees d_i = Σ_{j≠i} exp(W_ij), and the K top eigenvectors of
 *   M = D^{-1/2} E D^{-1/2},   E_ij = exp(W_ij) (i ≠ j),  E_ii = 0.
 * exp(W) itself overflows for small τ (W reaches ≈ 8/τ). Any shift exp(W − c) multiplies E and D
 * by e^{−c} and leaves M, hence its eigenvectors, unchanged; a single max shift c = max W can
 * however underflow whole rows whose affinities sit far below the maximum (a spread of more than
 * ~745 nats, reachable at τ = 0.01). We therefore take the shift row by row: the log-degrees
 *   ℓ_i = log Σ_{j≠i} exp(W_ij)
 * are max-shifted log-sum-exps (online across tiles), and
 *   M_ij = exp(W_ij − ℓ_i/2 − ℓ_j/2)  ≤ 1     (as W_ij ≤ ℓ_i and W_ij ≤ ℓ_j),
 * which is D^{-1/2} exp(W) D^{-1/2} without ever forming exp(W) or D. Where exp(W) provably
 * cannot overflow (`expDomainSafe`: max|S| small enough, e.g. unit rows and τ ≳ 0.012 at B = 32),
 * the streamed passes use E = exp(W) directly as a product of four factors 1 + (B−1)e^{S_·· − S_··}
 * (two exponentials per pair instead of four exp + four log1p); the stored path and
 * `spectralAffinity` always use the softplus form.
 *
 * Tiles: the pass visits the tile pairs I ≤ J of row blocks; for each it computes S_IJ = U_I V_Jᵀ/τ
 * and S_JI = U_J V_Iᵀ/τ with the backend's gemm and evaluates the W tile once (it serves both W_IJ
 * and W_JI = W_IJᵀ). Memory O(N·d + T²) per pass, never N x N.
 */
import type { Backend } from '../../backend/types.ts';
import { type Matrix, type Matrix64, allocArray, type FloatArray, rowRange, transpose, zeros } from '../../core/matrix.ts';
import { dense, gemm64 } from './linalg.ts';

/** Tile edge of the affinity passes (rows per block). */
export const AFFINITY_TILE = 256;

/** softplus(t) = log(1 + eᵗ), stable for all finite t. */
export function softplus(t: number): number {
  return t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t));
}

export interface AffinityProblem {
  /** Rows (N) of U and V. */
  readonly n: number;
  /** U and V in the tile backend's dtype, contiguous. */
  readonly U: Matrix;
  readonly V: Matrix;
  /** S_ii = u_i·v_i / τ, float64. */
  readonly sDiag: Float64Array;
  readonly tau: number;
  /** Batch size B of the affinity's log(1 + (B−1)eˣ). */
  readonly B: number;
  /** Backend for the S tiles. */
  readonly be: Backend;
  /** Float64 backend for products with the normalised affinity. */
  readonly la: Backend;
  /** Tile edge (default AFFINITY_TILE). */
  readonly tile?: number;
  /** 'never' forces the log-domain path of the streamed passes (tests); default 'auto' (see expDomainSafe). */
  readonly expDomain?: 'auto' | 'never';
}

/** S_ii = u_i·v_i/τ from float64 rows (strided views allowed). */
export function logitDiagonal(U: Matrix, V: Matrix, tau: number): Float64Array {
  const s = new Float64Array(U.rows);
  for (let i = 0; i < U.rows; i++) {
    const bu = U.offset + i * U.rowStride;
    const bv = V.offset + i * V.rowStride;
    let acc = 0;
    for (let k = 0; k < U.cols; k++) acc += U.data[bu + k * U.colStride]! * V.data[bv + k * V.colStride]!;
    s[i] = acc / tau;
  }
  return s;
}

/**
 * Whether the similarity E = exp(W) can be formed directly in float64: with σ = max|S_ij| ≤
 * max‖u‖·max‖v‖/τ, each factor of exp(W_ij) = Π (1 + (B−1)e^{S_·· − S_··}) is at most B·e^{2σ} and a
 * row sum of E at most N·B⁴e^{8σ}; the exponential path needs that below e^{690} (and σ ≤ 300 so
 * e^{±S} are normal numbers). Unit rows: τ ≳ 0.012 at B = 32. Smaller τ uses the log path.
 */
export function expDomainSafe(p: AffinityProblem): boolean {
  if (p.expDomain === 'never') return false;
  const maxNorm = (M: Matrix) => {
    let m = 0;
    for (let i = 0; i < M.rows; i++) {
      let q = 0;
      for (let k = 0; k < M.cols; k++) q += Number(M.data[M.offset + i * M.rowStride + k * M.colStride]!) ** 2;
      m = Math.max(m, q);
    }
    return Math.sqrt(m);
  };
  const sigma = (maxNorm(p.U) * maxNorm(p.V)) / p.tau;
  return sigma <= 300 && 4 * Math.log(p.B) + 8 * sigma + Math.log(p.n) < 690;
}

/**
 * Calls `visit(i0, ni, j0, nj, X)` for every tile pair I ≤ J (row blocks of T rows) with the
 * ni x nj tile (row-major, float64) of
 *   domain 'log': X = W, the four softplus terms summed (any τ);
 *   domain 'exp': X = E = exp(W) = (1 + c e^{S_ij} a_i)(1 + c e^{S_ji} a_i)(1 + c e^{S_ji} a_j)(1 + c e^{S_ij} a_j),
 *                 c = B − 1, a_i = e^{−S_ii}: two exponentials per pair instead of four exp + four
 *                 log1p. Only when `expDomainSafe(p)` (the caller checks).
 * On diagonal tiles (i0 = j0) the tile is exactly symmetric (the upper triangle is computed and
 * mirrored) and its diagonal holds W_ii = 4·log B (resp. E_ii = B⁴). The tile buffer is reused
 * between calls. Returns the number of tiles visited.
 */
export function forEachAffinityTile(
  p: AffinityProblem,
  visit: (i0: number, ni: number, j0: number, nj: number, X: Float64Array) => void,
  domain: 'log' | 'exp' = 'log',
): number {
  const n = p.n;
  const T = Math.max(1, Math.min(p.tile ?? AFFINITY_TILE, n));
  const dtype = p.be.dtype;
  const SIJ = allocArray(dtype, T * T);
  const SJI = allocArray(dtype, T * T);
  const W = new Float64Array(T * T);
  const lb = p.B > 1 ? Math.log(p.B - 1) : -Infinity;
  const c = p.B - 1;
  const expd = domain === 'exp';
  const wDiag = expd ? p.B ** 4 : 4 * Math.log(p.B);
  const s = p.sDiag;
  // Per-row constants: a_i = e^{−S_ii} on the exp path, S_ii itself on the log path.
  const a = expd ? s.map((x) => Math.exp(-x)) : s;
  const invTau = 1 / p.tau;
  const k = p.be.kernels;
  let tiles = 0;
  const view = (data: FloatArray, r: number, cc: number): Matrix => ({ data, rows: r, cols: cc, rowStride: cc, colStride: 1, offset: 0 });
  for (let i0 = 0; i0 < n; i0 += T) {
    const ni = Math.min(T, n - i0);
    const UI = rowRange(p.U, i0, ni);
    const VI = rowRange(p.V, i0, ni);
    for (let j0 = i0; j0 < n; j0 += T) {
      const nj = Math.min(T, n - j0);
      const UJ = rowRange(p.U, j0, nj);
      const VJ = rowRange(p.V, j0, nj);
      // X = S_IJ and Y = (S_JI)ᵀ, both ni x nj: X_ij = S_ij = u_i·v_j/τ, Y_ij = S_ji = v_i·u_j/τ.
      const diag = i0 === j0;
      k.gemm(invTau, UI, transpose(VJ), 0, view(SIJ, ni, nj));
      if (!diag) k.gemm(invTau, VI, transpose(UJ), 0, view(SJI, ni, nj));
      const Y = diag ? null : SJI;
      for (let i = 0; i < ni; i++) {
        const ai = a[i0 + i]!;
        const row = i * nj;
        // Diagonal tiles: the upper triangle (S_ji read from the same tile), mirrored.
        const jStart = diag ? i + 1 : 0;
        if (diag) W[row + i] = wDiag;
        for (let j = jStart; j < nj; j++) {
          const x = SIJ[row + j]!;
          const y = Y === null ? SIJ[j * nj + i]! : Y[row + j]!;
          const aj = a[j0 + j]!;
          let w: number;
          if (expd) {
            const ex = c * Math.exp(x);
            const ey = c * Math.exp(y);
            w = (1 + ex * ai) * (1 + ey * ai) * (1 + ey * aj) * (1 + ex * aj);
          } else {
            w = softplus(x - ai + lb) + softplus(y - ai + lb) + softplus(y - aj + lb) + softplus(x - aj + lb);
          }
          W[row + j] = w;
          if (diag) W[j * nj + i] = w;
        }
      }
      tiles++;
      visit(i0, ni, j0, nj, W);
    }
  }
  return tiles;
}

/** The dense N x N affinity W (diagonal 4·log B). For small N: O(N²) memory. */
export function denseAffinity(p: AffinityProblem): Matrix64 {
  const n = p.n;
  const out = zeros(n, n);
  const o = out.data;
  forEachAffinityTile(p, (i0, ni, j0, nj, W) => {
    for (let i = 0; i < ni; i++) {
      for (let j = 0; j < nj; j++) {
        const w = W[i * nj + j]!;
        o[(i0 + i) * n + j0 + j] = w;
        o[(j0 + j) * n + i0 + i] = w;
      }
    }
  });
  return out;
}

/**
 * ℓ_i = log Σ_{j≠i} exp(W_ij), the log-degrees of the similarity exp(W) without self-loops, as
 * max-shifted log-sum-exps accumulated online across tiles (or, when `expDomainSafe`, as logs of
 * plain sums of E = exp(W)). One affinity pass.
 */
export function logDegrees(p: AffinityProblem): Float64Array {
  const n = p.n;
  if (expDomainSafe(p)) {
    // E_ij ≥ 1 and the row sums are bounded (expDomainSafe): plain sums, no shift needed.
    const sum = new Float64Array(n);
    forEachAffinityTile(p, (i0, ni, j0, nj, E) => {
      const diag = i0 === j0;
      for (let i = 0; i < ni; i++) {
        let acc = 0;
        for (let j = 0; j < nj; j++) if (!(diag && j === i)) acc += E[i * nj + j]!;
        sum[i0 + i] += acc;
      }
      if (diag) return;
      for (let i = 0; i < ni; i++) for (let j = 0; j < nj; j++) sum[j0 + j] += E[i * nj + j]!;
    }, 'exp');
    return sum.map(Math.log);
  }
  const mx = new Float64Array(n).fill(-Infinity);
  const sm = new Float64Array(n);
  const add = (r: number, tileMax: number, W: Float64Array, start: number, count: number, stride: number, skip: number) => {
    // Folds the entries W[start + t·stride] (t < count, t ≠ skip) into row r's running (max, sum).
    if (tileMax === -Infinity) return;
    let m = mx[r]!;
    let acc = sm[r]!;
    if (tileMax > m) {
      acc = m === -Infinity ? 0 : acc * Math.exp(m - tileMax);
      m = tileMax;
    }
    for (let t = 0; t < count; t++) if (t !== skip) acc += Math.exp(W[start + t * stride]! - m);
    mx[r] = m;
    sm[r] = acc;
  };
  forEachAffinityTile(p, (i0, ni, j0, nj, W) => {
    const diag = i0 === j0;
    for (let i = 0; i < ni; i++) {
      let m = -Infinity;
      for (let j = 0; j < nj; j++) if (!(diag && j === i) && W[i * nj + j]! > m) m = W[i * nj + j]!;
      add(i0 + i, m, W, i * nj, nj, 1, diag ? i : -1);
    }
    if (diag) return; // a diagonal tile is symmetric: its rows already are its columns
    for (let j = 0; j < nj; j++) {
      let m = -Infinity;
      for (let i = 0; i < ni; i++) if (W[i * nj + j]! > m) m = W[i * nj + j]!;
      add(j0 + j, m, W, j, ni, nj, -1);
    }
  });
  const ell = new Float64Array(n);
  // n = 1: no neighbours, ℓ = −∞; the caller never builds a graph on one row.
  for (let i = 0; i < n; i++) ell[i] = mx[i]! + Math.log(sm[i]!);
  return ell;
}

/** ℓ_i = log Σ_{j≠i} exp(W_ij) from a stored W (max-shifted per row). */
export function logDegreesOfDense(W: Matrix64): Float64Array {
  const n = W.rows;
  const ell = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const b = W.offset + i * W.rowStride;
    let m = -Infinity;
    for (let j = 0; j < n; j++) if (j !== i && W.data[b + j * W.colStride]! > m) m = W.data[b + j * W.colStride]!;
    let acc = 0;
    for (let j = 0; j < n; j++) if (j !== i) acc += Math.exp(W.data[b + j * W.colStride]! - m);
    ell[i] = m + Math.log(acc);
  }
  return ell;
}

/**
 * Overwrites a stored W (contiguous N x N) with M_ij = exp(W_ij − ℓ_i/2 − ℓ_j/2), M_ii = 0, and
 * returns it together with ℓ. One affinity pass in all (the W tiles are evaluated once).
 */
export function denseNormalizedAffinity(p: AffinityProblem): { M: Matrix64; ell: Float64Array } {
  const W = denseAffinity(p);
  const ell = logDegreesOfDense(W);
  const n = p.n;
  const h = ell.map((x) => x / 2);
  const w = W.data;
  for (let i = 0; i < n; i++) {
    const hi = h[i]!;
    for (let j = 0; j < n; j++) w[i * n + j] = i === j ? 0 : Math.exp(w[i * n + j]! - hi - h[j]!);
  }
  return { M: W, ell };
}

/** A symmetric linear operator on R^n applied to blocks of p vectors (row-major n x p, float64). */
export interface SymOperator {
  readonly n: number;
  /** Y ← M X for X, Y contiguous n x p (Y is overwritten). */
  apply(X: Matrix64, Y: Matrix64): void;
  /** How many times `apply` has run. */
  readonly applications: number;
  /** 'materialized' (an N x N matrix held in memory) or 'streaming' (affinity recomputed per apply). */
  readonly kind: 'materialized' | 'streaming';
}

/** A stored symmetric matrix M (e.g. from `denseNormalizedAffinity`) as an operator: gemm per application. */
export function materializedOperator(M: Matrix64, la: Backend): SymOperator {
  let applications = 0;
  return {
    n: M.rows,
    kind: 'materialized',
    get applications() {
      return applications;
    },
    apply(X, Y) {
      applications++;
      gemm64(la, 1, M, X, 0, Y);
    },
  };
}

/**
 * M applied matrix-free: every application streams the affinity tile by tile (two S tiles from the
 * backend's gemm, the W tile, G = exp(W − ℓ_I/2 − ℓ_J/2) — or, when `expDomainSafe`, the E tile
 * and G = E·e^{−ℓ_I/2}·e^{−ℓ_J/2}) and accumulates Y_I += G X_J and Y_J += Gᵀ X_I.
 * Memory O(N·(d + p) + T²); each application costs one affinity pass.
 */
export function streamingOperator(p: AffinityProblem, ell: Float64Array): SymOperator {
  const n = p.n;
  const h = ell.map((x) => x / 2);
  // Exponential path: G_ij = E_ij·g_i·g_j with g = e^{−ℓ/2} (ℓ < 690 there, so g is a normal number).
  const expd = expDomainSafe(p);
  const g = h.map((x) => Math.exp(-x));
  const T = Math.max(1, Math.min(p.tile ?? AFFINITY_TILE, n));
  const G = new Float64Array(T * T);
  let applications = 0;
  return {
    n,
    kind: 'streaming',
    get applications() {
      return applications;
    },
    apply(X, Y) {
      applications++;
      const q = X.cols;
      Y.data.fill(0, Y.offset, Y.offset + n * q);
      forEachAffinityTile(p, (i0, ni, j0, nj, X_) => {
        const diag = i0 === j0;
        for (let i = 0; i < ni; i++) {
          const row = i * nj;
          if (expd) {
            const gi = g[i0 + i]!;
            for (let j = 0; j < nj; j++) G[row + j] = X_[row + j]! * gi * g[j0 + j]!;
          } else {
            const hi = h[i0 + i]!;
            for (let j = 0; j < nj; j++) G[row + j] = Math.exp(X_[row + j]! - hi - h[j0 + j]!);
          }
          if (diag) G[row + i] = 0;
        }
        const Gt = dense(G, ni, nj);
        gemm64(p.la, 1, Gt, rowRange(X, j0, nj), 1, rowRange(Y, i0, ni));
        if (!diag) gemm64(p.la, 1, transpose(Gt), rowRange(X, i0, ni), 1, rowRange(Y, j0, nj));
      }, expd ? 'exp' : 'log');
    },
  };
}
