/**
 * The blocked passes behind `diagnose` (THEORY 2.1, 2.3): every objective's per-anchor terms, value and
 * gradient at the user's embeddings, from three log-sum-exp passes and five gradient passes of the
 * pair-softmax kernels (memory O(N·d); S = UVᵀ/τ is never stored).
 *
 *   lse pass UV (exclude the positive): n_i = lse_{j≠i} S_ij, m_j = lse_{i≠j} S_ij, s_i = S_ii
 *   lse pass UU, VV (exclude self):      a_i = lse_{k≠i} u_i·u_k/τ,  b_i = lse_{k≠i} v_i·v_k/τ
 * from which, with logaddexp(x, y) = log(eˣ + eʸ):
 *   infonce     row_i = logaddexp(n_i, s_i) − s_i,  col_i = logaddexp(m_i, s_i) − s_i,  L = Σ (row_i + col_i)/(2N)
 *   gcl-bimodal log g1_i = n_i − s_i − log(N−1),  log g2_i = m_i − s_i − log(N−1)
 *   gcl-unimodal (Z = [U; V]) log g_{u_i} = logaddexp(a_i, n_i) − s_i − log(2N−2),
 *                             log g_{v_i} = logaddexp(b_i, m_i) − s_i − log(2N−2)
 *   F = (τ/(2N)) Σ log(ε₀ + g) over the anchors of each (2N terms both ways).
 * Gradients (the coefficients of src/objectives/infonce.ts and gcl.ts; w = (τ/(2N))·g/(ε₀ + g)):
 *   infonce       one pass on UV, nothing excluded, row/col coefficients 1/(2N), positive −1/N;
 *   gcl-bimodal   one pass on UV excluding the positive, row w1, column w2, positive −(w1 + w2);
 *   gcl-unimodal  the blocks of K = ZZᵀ/τ: UU (row w_u over lse_u, ∂u = GU + GᵀU), VV likewise, and
 *                 UV with row w_u over lse_u, column w_v over lse_v and positive −(w_u + w_v), which
 *                 carries both the UV and the VU block (anchor v_j's negative u_i is entry (i, j)).
 * Each pass is a pure function of (U, V, τ, ε₀, the passes before it); `diagnose` may run them on
 * worker threads (diagnoseWorker.ts) and gets the same bits.
 */
import type { Backend, PairSpec } from '../backend/types.ts';
import { type Matrix, toContiguous } from '../core/matrix.ts';
import { mutant } from '../core/mutants.ts';
import { epsWeight, logEpsPlusExp } from '../objectives/common.ts';

/** log(eˣ + eʸ), max-shifted. */
export function logAddExp(x: number, y: number): number {
  const m = Math.max(x, y);
  if (m === -Infinity) return -Infinity;
  return m + Math.log(Math.exp(x - m) + Math.exp(y - m));
}

export interface LsePasses {
  /** lse over the negatives of S = UVᵀ/τ: row i (n_i), column i (m_i); positives S_ii. */
  readonly negRow: Float64Array;
  readonly negCol: Float64Array;
  readonly positive: Float64Array;
  /** lse_{k≠i} u_i·u_k/τ and lse_{k≠i} v_i·v_k/τ (null when not computed). */
  readonly uu: Float64Array | null;
  readonly vv: Float64Array | null;
}

export type PassName = 'lse-uv' | 'lse-uu' | 'lse-vv' | 'grad-infonce' | 'grad-gcl-bimodal' | 'grad-uni-uu' | 'grad-uni-vv' | 'grad-uni-uv';

const EXCL_POS = (tau: number): PairSpec => ({ tau, positiveShift: 0, exclude: 'positive' });

/** Pass 'lse-uv' / 'lse-uu' / 'lse-vv'. */
export function lsePass(name: 'lse-uv' | 'lse-uu' | 'lse-vv', U: Matrix, V: Matrix, tau: number, backend: Backend): Float64Array[] {
  const k = backend.kernels;
  const X = toContiguous(U, backend.dtype);
  const Y = toContiguous(V, backend.dtype);
  if (name === 'lse-uv') {
    const r = k.pairLse(X, Y, EXCL_POS(tau), { row: true, col: true });
    return [r.lseRow!, r.lseCol!, r.positive];
  }
  const A = name === 'lse-uu' ? X : Y;
  return [k.pairLse(A, A, EXCL_POS(tau), { row: true, col: false }).lseRow!];
}

export interface AnchorTerms {
  readonly infonceRow: Float64Array;
  readonly infonceCol: Float64Array;
  /** log g1_i, log g2_i (bimodal). */
  readonly logG1: Float64Array;
  readonly logG2: Float64Array;
  /** log g of anchors u_i and v_i (unimodal); null without the UU / VV passes. */
  readonly logGu: Float64Array | null;
  readonly logGv: Float64Array | null;
  /** Full unimodal lse of anchors u_i and v_i. */
  readonly lseZu: Float64Array | null;
  readonly lseZv: Float64Array | null;
}

export function anchorTerms(l: LsePasses): AnchorTerms {
  const n = l.positive.length;
  const infonceRow = new Float64Array(n);
  const infonceCol = new Float64Array(n);
  const logG1 = new Float64Array(n);
  const logG2 = new Float64Array(n);
  const uni = l.uu !== null && l.vv !== null;
  const logGu = uni ? new Float64Array(n) : null;
  const logGv = uni ? new Float64Array(n) : null;
  const lseZu = uni ? new Float64Array(n) : null;
  const lseZv = uni ? new Float64Array(n) : null;
  const logM = Math.log(n - 1);
  const logM2 = Math.log(2 * n - 2);
  for (let i = 0; i < n; i++) {
    const s = l.positive[i]!;
    infonceRow[i] = logAddExp(l.negRow[i]!, s) - s;
    infonceCol[i] = logAddExp(l.negCol[i]!, s) - s;
    logG1[i] = l.negRow[i]! - s - logM;
    logG2[i] = l.negCol[i]! - s - logM;
    if (uni) {
      lseZu![i] = logAddExp(l.uu![i]!, l.negRow[i]!);
      lseZv![i] = logAddExp(l.vv![i]!, l.negCol[i]!);
      logGu![i] = lseZu![i]! - s - logM2;
      logGv![i] = lseZv![i]! - s - logM2;
    }
  }
  return { infonceRow, infonceCol, logG1, logG2, logGu, logGv, lseZu, lseZv };
}

/** (τ/(2N)) Σ log(ε₀ + g) over the given log g arrays. */
export function gclValueTerms(eps0: number, ...logG: Float64Array[]): Float64Array {
  const out = new Float64Array(logG.reduce((s, a) => s + a.length, 0));
  let t = 0;
  for (const a of logG) for (let i = 0; i < a.length; i++) out[t++] = logEpsPlusExp(eps0, a[i]!);
  return out;
}

function weights(eps0: number, scale: number, logG: Float64Array): Float64Array {
  const w = new Float64Array(logG.length);
  for (let i = 0; i < w.length; i++) w[i] = scale * epsWeight(eps0, logG[i]!);
  return w;
}

/** A gradient pass: [gradU, gradV] as float64 arrays (N·d each, row-major). */
export function gradPass(name: Exclude<PassName, 'lse-uv' | 'lse-uu' | 'lse-vv'>, U: Matrix, V: Matrix, tau: number, eps0: number, l: LsePasses, backend: Backend): Float64Array[] {
  const k = backend.kernels;
  const X = toContiguous(U, backend.dtype);
  const Y = toContiguous(V, backend.dtype);
  const n = X.rows;
  const t = anchorTerms(l);
  const f64 = (m: Matrix) => Float64Array.from(m.data.subarray(0, m.rows * m.cols));
  const scale = tau / (2 * n);
  if (name === 'grad-infonce') {
    const lseRow = new Float64Array(n);
    const lseCol = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      lseRow[i] = t.infonceRow[i]! + l.positive[i]!;
      lseCol[i] = t.infonceCol[i]! + l.positive[i]!;
    }
    const c = new Float64Array(n).fill(1 / (2 * n));
    const pos = new Float64Array(n).fill(-1 / n);
    const g = k.pairSoftmaxGrad(X, Y, { tau, positiveShift: 0, exclude: 'none' }, { lseRow, lseCol, rowCoef: c, colCoef: mutant('column-softmax-dropped') ? null : c, posCoef: pos });
    return [f64(g.gradU), f64(g.gradV)];
  }
  if (name === 'grad-gcl-bimodal') {
    const w1 = weights(eps0, scale, t.logG1);
    const w2 = weights(eps0, scale, t.logG2);
    const pos = new Float64Array(n);
    for (let i = 0; i < n; i++) pos[i] = -(w1[i]! + w2[i]!);
    const g = k.pairSoftmaxGrad(X, Y, EXCL_POS(tau), { lseRow: l.negRow, lseCol: l.negCol, rowCoef: w1, colCoef: w2, posCoef: pos });
    return [f64(g.gradU), f64(g.gradV)];
  }
  const wu = weights(eps0, scale, t.logGu!);
  const wv = weights(eps0, scale, t.logGv!);
  if (name === 'grad-uni-uv') {
    const pos = new Float64Array(n);
    for (let i = 0; i < n; i++) pos[i] = -(wu[i]! + wv[i]!);
    const g = k.pairSoftmaxGrad(X, Y, EXCL_POS(tau), { lseRow: t.lseZu, lseCol: t.lseZv, rowCoef: wu, colCoef: wv, posCoef: pos });
    return [f64(g.gradU), f64(g.gradV)];
  }
  // UU or VV block: ∂/∂x_i = (G X)_i + (Gᵀ X)_i, returned summed as the one gradient of that side.
  const A = name === 'grad-uni-uu' ? X : Y;
  const g = k.pairSoftmaxGrad(A, A, EXCL_POS(tau), { lseRow: name === 'grad-uni-uu' ? t.lseZu : t.lseZv, lseCol: null, rowCoef: name === 'grad-uni-uu' ? wu : wv, colCoef: null, posCoef: null });
  const a = f64(g.gradU);
  const b = g.gradV.data;
  for (let i = 0; i < a.length; i++) a[i]! += b[i]!;
  return [a];
}
