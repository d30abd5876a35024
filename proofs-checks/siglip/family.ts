/**
 * Shared by the sigmoid-loss claims (THEORY 9.1–9.3): the double-constant family of Lee, Chang & Sohn
 * (AISTATS 2024), the loss along it in closed form, its exact 1-D minimiser, and projected gradient
 * descent through the library's `sigmoidLossAndGrad` (src/objectives/sigmoid.ts).
 *
 * The family (d ≥ N; w_1..w_N a simplex ETF in R^{d−1}, w_i·w_j = −1/(N−1); s = δ² ∈ [0, 1]):
 *   u_i = (δ·w_i, √(1−s)),   v_i = (δ·w_i, −√(1−s)),
 *   u_i·v_i = p(s) = 2s − 1,   u_i·v_j = q(s) = s(N−2)/(N−1) − 1   (i ≠ j).
 * s = 1 is the aligned ETF (u_i = v_i = w_i); s = 0 the antipodal collapse (every u_i = e, v_i = −e).
 *
 * The loss along it, with the negatives weighted by ω (ω = 1: the full batch; ω = (B−1)/(N−1): the
 * average over all C(N,B) batches, siglip.all-batches-reweight-negatives), ℓ(x) = log(1 + e^x):
 *   F_ω(s) = ℓ(−t·p(s) − b) + ω(N−1)·ℓ(t·q(s) + b),
 *   F_ω′(s) = −2t·σ(−t·p(s) − b) + ω(N−2)·t·σ(t·q(s) + b).
 * Both arguments are affine in s and ℓ is convex, so F_ω is convex on [0, 1]: its minimiser is
 *   s* = 1 if F_ω′(1) ≤ 0, s* = 0 if F_ω′(0) ≥ 0, else the root of F_ω′ (bisection, to 1 ulp of s),
 * and in closed form the regimes (N ≥ 3; F_1′(s) < 0 everywhere for N = 2, so s* = 1 there):
 *   s* = 0  ⇔  ω(N−2)·e^{b−t} ≥ 2,  i.e. b − t ≥ log(2/(ω(N−2)));
 *   s* = 1  ⇔  ω(N−2)·σ(b − t/(N−1)) ≤ 2σ(−t − b).
 *
 * Why the family holds the global minimiser (d ≥ N, any t > 0, b; Lee, Chang & Sohn's theorem; this
 * is our proof, by the same Cauchy–Schwarz step as siglip.similarity-gap-bound): with P̄, Q̄ the mean
 * positive and negative similarity, Jensen (ℓ convex) gives
 *   L ≥ ℓ(−tP̄ − b) + ω(N−1)·ℓ(tQ̄ + b) =: f(P̄, Q̄),
 * f is increasing in Q̄ (t > 0), and every feasible point has Q̄ ≥ Q_min(P̄) = [(N−2)P̄ − N]/(2(N−1))
 * (THEORY 9.4's step (1)–(3)). The family has p(s) = P̄ and q(s) = Q_min(P̄) for s = (1 + P̄)/2, and
 * all its positives and negatives equal (Jensen tight), so min L = min_s F_ω(s).
 */
import type { Backend } from '../../src/backend/types.ts';
import { type Matrix64, zeros } from '../../src/core/matrix.ts';
import type { Rng } from '../../src/core/random.ts';
import { normalizeRows, tangentProject } from '../../src/core/sphere.ts';
import { simplexEtf } from '../../src/optima/etf.ts';
import { sigmoidLossAndGrad } from '../../src/objectives/sigmoid.ts';
import { UNIT_ROUNDOFF } from '../cho/etf-optimal.ts';

export { sigmoidLossAndGrad };

/** log(1 + e^x), stable. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** 1/(1 + e^{−x}), stable. */
export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

export interface FamilyProblem {
  readonly n: number;
  readonly t: number;
  readonly b: number;
  /** Weight of the negatives (1: full batch). */
  readonly omega?: number;
}

export const pos = (n: number, s: number) => 2 * s - 1;
export const neg = (n: number, s: number) => (s * (n - 2)) / (n - 1) - 1;

/** F_ω(s) of the header. */
export function familyLoss(pr: FamilyProblem, s: number): number {
  const w = pr.omega ?? 1;
  return softplus(-pr.t * pos(pr.n, s) - pr.b) + w * (pr.n - 1) * softplus(pr.t * neg(pr.n, s) + pr.b);
}

/** F_ω′(s). */
export function familySlope(pr: FamilyProblem, s: number): number {
  const w = pr.omega ?? 1;
  return -2 * pr.t * sigmoid(-pr.t * pos(pr.n, s) - pr.b) + w * (pr.n - 2) * pr.t * sigmoid(pr.t * neg(pr.n, s) + pr.b);
}

export type Regime = 'aligned ETF (s* = 1)' | 'in between (0 < s* < 1)' | 'antipodal (s* = 0)';

/** The exact minimiser of F_ω on [0, 1] (convex): an end point by the sign of the slope, else bisection on F_ω′. */
export function familyMinimiser(pr: FamilyProblem): { s: number; value: number; regime: Regime } {
  let s: number;
  if (familySlope(pr, 1) <= 0) s = 1;
  else if (familySlope(pr, 0) >= 0) s = 0;
  else {
    let lo = 0;
    let hi = 1;
    while (hi - lo > 2 * Number.EPSILON) {
      const mid = (lo + hi) / 2;
      if (mid <= lo || mid >= hi) break;
      if (familySlope(pr, mid) > 0) hi = mid; else lo = mid;
    }
    s = (lo + hi) / 2;
  }
  return { s, value: familyLoss(pr, s), regime: s === 1 ? 'aligned ETF (s* = 1)' : s === 0 ? 'antipodal (s* = 0)' : 'in between (0 < s* < 1)' };
}

/** The closed-form regime of the header (independent of the bisection). */
export function closedFormRegime(pr: FamilyProblem): Regime {
  const w = pr.omega ?? 1;
  const { n, t, b } = pr;
  if (n === 2) return 'aligned ETF (s* = 1)';
  if (b - t >= Math.log(2 / (w * (n - 2)))) return 'antipodal (s* = 0)';
  if (w * (n - 2) * sigmoid(b - t / (n - 1)) <= 2 * sigmoid(-t - b)) return 'aligned ETF (s* = 1)';
  return 'in between (0 < s* < 1)';
}

/** The family's point at s, in R^d (d ≥ N), randomly rotated ETF part. */
export function familyPoint(n: number, d: number, s: number, rng?: Rng): { U: Matrix64; V: Matrix64 } {
  const W = simplexEtf(n, d - 1, rng ? { rng } : {});
  const U = zeros(n, d);
  const V = zeros(n, d);
  const delta = Math.sqrt(s);
  const h = Math.sqrt(1 - s);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < d - 1; c++) {
      U.data[i * d + c] = delta * W.data[i * (d - 1) + c]!;
      V.data[i * d + c] = delta * W.data[i * (d - 1) + c]!;
    }
    U.data[i * d + d - 1] = h;
    V.data[i * d + d - 1] = -h;
  }
  return { U, V };
}

/**
 * Rounding allowance for the library's sigmoid loss at unit rows against the exact value (u = 2^-53):
 * each logit t·fl(u_i·v_j) + b is off by ≤ t(d+2)u + 2t·rowDev + u|b|; ℓ is 1-Lipschitz, so each of the
 * N² terms moves by that plus ≤ 2u·ℓ (its own exp/log1p); summed over N² terms and divided by N:
 * N·[t(d+2)u + 2t·rowDev + u|b| + 2u·ℓ_max] + u·L; doubled for the sum's own rounding and the ulps of
 * exp/log1p at the edge. The closed form F_ω has ≤ 8u relative (two softplus, a product, a sum).
 */
export function sigmoidRoundoff(n: number, d: number, t: number, b: number, value: number, rowDev = 0): number {
  const u = UNIT_ROUNDOFF;
  const lmax = Math.abs(t) + Math.abs(b) + 1;
  return 2 * (n * (t * (d + 2) * u + 2 * t * rowDev + u * Math.abs(b) + 2 * u * lmax) + u * Math.abs(value)) + 8 * u * Math.abs(value);
}

/** Value and Euclidean gradients of an objective on (U, V). */
export type ValueAndGrad = (U: Matrix64, V: Matrix64) => { value: number; gradU: Matrix64; gradV: Matrix64 };

/** The library's full-batch sigmoid loss at fixed (t, b). */
export function fullBatch(t: number, b: number, backend: Backend): ValueAndGrad {
  return (U, V) => {
    const r = sigmoidLossAndGrad(U, V, { t, b, backend });
    return { value: r.value, gradU: r.gradU!, gradV: r.gradV! };
  };
}

export interface PgdResult {
  readonly U: Matrix64;
  readonly V: Matrix64;
  readonly value: number;
  readonly gradNorm: number;
  readonly steps: number;
  /** The smallest loss seen along the way (≥ the minimum if the claim holds). */
  readonly lowest: number;
}

/**
 * Projected gradient descent on the product of unit spheres, U ← normalize(U − η∇U) (as solveExact's
 * 'projected' mode), stopping when the Riemannian gradient norm ≤ tol or after `steps` steps.
 */
export function projectedGd(f: ValueAndGrad, U0: Matrix64, V0: Matrix64, lr: number, steps: number, tol: number): PgdResult {
  let U = normalizeRows(U0);
  let V = normalizeRows(V0);
  let lowest = Infinity;
  for (let k = 0; ; k++) {
    const r = f(U, V);
    lowest = Math.min(lowest, r.value);
    const gU = tangentProject(U, r.gradU);
    const gV = tangentProject(V, r.gradV);
    let g2 = 0;
    for (const x of gU.data) g2 += x * x;
    for (const x of gV.data) g2 += x * x;
    const gradNorm = Math.sqrt(g2);
    if (gradNorm <= tol || k === steps) return { U, V, value: r.value, gradNorm, steps: k, lowest };
    const XU = zeros(U.rows, U.cols);
    const XV = zeros(V.rows, V.cols);
    for (let i = 0; i < XU.data.length; i++) {
      XU.data[i] = U.data[i]! - lr * r.gradU.data[i]!;
      XV.data[i] = V.data[i]! - lr * r.gradV.data[i]!;
    }
    U = normalizeRows(XU);
    V = normalizeRows(XV);
  }
}

/** Mean positive and mean negative similarity of (U, V). */
export function meanSimilarities(U: Matrix64, V: Matrix64): { P: number; Q: number } {
  const n = U.rows;
  const d = U.cols;
  let p = 0;
  let q = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let x = 0;
    for (let c = 0; c < d; c++) x += U.data[i * d + c]! * V.data[j * d + c]!;
    if (i === j) p += x; else q += x;
  }
  return { P: p / n, Q: q / (n * (n - 1)) };
}
