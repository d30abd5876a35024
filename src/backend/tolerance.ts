/**
 * The tolerance rules a backend's pair softmax is judged by (the backend contract tests in
 * tests/backend/contract.ts and the numerics claims in proofs-checks/numerics use these, one copy).
 *
 *  - Error measures are normwise: for a vector or matrix X against an oracle R,
 *      err(X, R) = max_i |X_i − R_i| / scale,
 *    with scale = max(1, max_i |R_i|) for log-sum-exps and positives (absolute error of a log is a
 *    relative error of the sum) and scale = max_i |R_i| for gradients and gemm results
 *    (an exact-zero oracle requires an exact-zero result). Matching infinities count as equal.
 *  - float64: err(backend_f64, ref_f64) ≤ 16·ε64·(1 + max|S|) for the pair softmax. Rounding a
 *    logit S_ij (a dot product divided by τ) perturbs it by ~ε·|S|, and exp turns that absolute
 *    error into a relative error of every softmax entry of the same size: ε·max|S| is the
 *    conditioning floor of the problem. The factor 16 leaves room for the exp / log / scaling
 *    roundings and for the reordered sums (measured worst over 1500 random cases: 1.1·ε64·(1 + max|S|)).
 *    At τ = 1 with unit rows this is 7e-15; at τ = 0.01, 1.6e-12.
 *    For gemm: the classical elementwise bound
 *      |C − C_exact| ≤ (k + 2)·ε64·(|α|·|A||B| + |β|·|C₀|).
 *  - float32 (flash-attention's rule): the backend in float32 against the float64 oracle may err at
 *    most twice as much as the same maths done naively in float32 (the reference backend with
 *    dtype 'f32', every operation rounded), plus a floor:
 *      err(backend_f32, ref_f64) ≤ 2·err(ref_f32, ref_f64) + floor,
 *      floor = 4·ε32·(1 + max|S|)                                      (pair softmax)
 *      floor = 4·ε32·(k + 2)·max_ij(|α|·|A||B| + |β|·|C₀|)_ij / scale     (gemm)
 *    Pair softmax: representing S in float32 at all (and rounding 1/τ or dividing by τ) moves every
 *    exp(S_ij − lse) by up to ~ε32·max|S| relative — an error any float32 algorithm has, but
 *    one the naive float32 computation can happen to dodge on a tiny instance; four such ulps
 *    are the floor. The reduction lengths (d in S, n in the sums) enter through 2·err(ref_f32),
 *    since the naive computation does the same reductions. (Measured: the blocked float32 kernels
 *    stay below 0.54 of the bound with a floor of one ulp; a floor of 4·ε32·(d + n) without the
 *    max|S| factor is not enough: 1.7x over, at τ = 0.01.)
 *    gemm: the floor is the worst-case bound of float32 dot products of length k in any
 *    summation order, so every correct float32 GEMM passes; 2·err(ref_f32) adds nothing then.
 *    All three computations see identical input values (float32 numbers held in float64 for the
 *    float64 oracle), so input rounding is not counted against anyone.
 *  - The pair sigmoid (types.ts) is judged by the same two rules with max|S| replaced by
 *    t·max|u_i·v_j| + |b| (`maxAbsSigmoidLogit`): rounding s_ij by ε·|s_ij| moves the logit
 *    t·s_ij + b by t·ε·|s_ij|, and softplus and σ have slopes ≤ 1 and ≤ 1/4. The scalar sums
 *    (value, ∂/∂t, ∂/∂b) are compared with scale Σ_ij of the magnitudes of their terms (the
 *    derivative sums cancel: positives and negatives have opposite signs).
 */
import { ShapeError } from '../core/errors.ts';
import type { DType, Matrix } from '../core/matrix.ts';

/** Machine epsilon (spacing of floats at 1) per dtype. */
export const EPS: Readonly<Record<DType, number>> = { f64: 2 ** -52, f32: 2 ** -23 };

/** max |a_i| over the finite entries. */
export function maxAbsFinite(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i]!)) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** max |x − r| with equal infinities counted as 0 and any other non-finite mismatch as Infinity. */
export function maxDiffMatchingInf(x: ArrayLike<number>, r: ArrayLike<number>): number {
  if (x.length !== r.length) throw new ShapeError('maxDiff', `lengths differ: ${x.length} vs ${r.length}`);
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const a = x[i]!;
    const b = r[i]!;
    if (a === b) continue;
    const diff = Math.abs(a - b);
    if (!Number.isFinite(diff)) return Infinity;
    m = Math.max(m, diff);
  }
  return m;
}

/** Normwise error; scaleFloor = 1 for lse/positives, 0 for gradients (then a zero oracle needs a zero result). */
export function normwiseError(x: ArrayLike<number>, r: ArrayLike<number>, scaleFloor: number): number {
  const d = maxDiffMatchingInf(x, r);
  if (d === 0) return 0;
  const s = Math.max(scaleFloor, maxAbsFinite(r));
  return s === 0 ? Infinity : d / s;
}

/** max_ij |u_i·v_j| / τ, in float64 (any strides). */
export function maxAbsLogit(U: Matrix, V: Matrix, tau: number): number {
  let m = 0;
  for (let i = 0; i < U.rows; i++) {
    for (let j = 0; j < V.rows; j++) {
      let s = 0;
      for (let k = 0; k < U.cols; k++) {
        s += U.data[U.offset + i * U.rowStride + k * U.colStride]! * V.data[V.offset + j * V.rowStride + k * V.colStride]!;
      }
      m = Math.max(m, Math.abs(s / tau));
    }
  }
  return m;
}

/** t·max_ij |u_i·v_j| + |b|: the pair sigmoid's stand-in for max|S| (see the header). */
export function maxAbsSigmoidLogit(U: Matrix, V: Matrix, t: number, b: number): number {
  return t * maxAbsLogit(U, V, 1) + Math.abs(b);
}

/** The float64 pair-softmax tolerance 16·ε64·(1 + max|S|) (see the header). */
export function pairToleranceF64(maxAbsS: number): number {
  return 16 * EPS.f64 * (1 + maxAbsS);
}

/** The floor 4·ε32·(1 + max|S|) of the float32 rule for the pair softmax (see the header). */
export function pairFloorF32(maxAbsS: number): number {
  return 4 * EPS.f32 * (1 + maxAbsS);
}

/** The float32 gemm floor 4·ε32·(k + 2)·magnitude / scale (0 when the oracle is exactly zero). */
export function gemmFloorF32(k: number, magnitude: number, scale: number): number {
  return scale === 0 ? 0 : (4 * EPS.f32 * (k + 2) * magnitude) / scale;
}

/** The float32 rule's bound: 2·err(same maths in f32, ref_f64) + floor. */
export function f32RuleBound(naiveF32Error: number, floor: number): number {
  return 2 * naiveF32Error + floor;
}
