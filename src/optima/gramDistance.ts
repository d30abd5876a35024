/**
 * Distance to the optimal Gram matrix (THEORY 3, "the metric of closeness"):
 *
 *   etf:             ‖U Vᵀ − G*‖_F,  G* = (N/(N−1)) I − (1/(N−1)) 11ᵀ   (permutation-invariant)
 *   cross-polytope:  min_M ‖U Vᵀ − (I − A_M)‖_F  over perfect matchings M of the N points
 *                    (A_M the symmetric 0/1 matrix of the pairs of M; G* = I − A_M pairs each
 *                    point with its antipode, and relabelling the points changes M).
 *
 * The cross-polytope minimisation is exact. With X = U Vᵀ,
 *   ‖X − I + A_M‖² = ‖X − I‖² + 2 Σ_{(i,j)∈M} (X_ij + X_ji) + N,
 * so the best pairing is a minimum-weight perfect matching of the complete graph with weights
 * X_ij + X_ji, solved by Edmonds' blossom algorithm (`minWeightPerfectMatching`). This replaces
 * the greedy per-row rearrangement of CHO's code (`oc_utils/rearrange.py`), which permutes the
 * entries of each row of X independently to approach a fixed target row: it is not a relabelling
 * of the points (it can report 0 for configurations that are not optimal) and its greedy row
 * assignment is not optimal either.
 *
 * The distance itself is re-evaluated directly as ‖X − G*_M‖_F with a scaled sum of squares
 * (the expansion above cancels badly near 0).
 *
 * Attainability and the floor. X = U Vᵀ has rank at most d (the width of U and V), so the
 * distance cannot reach 0 when G* has rank over d. The ETF Gram is (N/(N−1)) times the projector
 * I − 11ᵀ/N: eigenvalue N/(N−1) with multiplicity N−1, and 0 once; it is attainable iff
 * d ≥ N − 1. Each cross-polytope Gram I − A_M has eigenvalue 2 with multiplicity N/2 (one per
 * pair, eigenvector e_i − e_j) and 0 with multiplicity N/2; it is attainable iff d ≥ N/2 (N = 2d
 * is the configuration ±e_k; more room is allowed). By Eckart–Young, the smallest ‖X − G*‖_F over
 * X of rank ≤ d is the root sum of squares of the eigenvalues left out:
 *   etf:             floor = (N/(N−1))·√max(0, N−1−d)     (N ≥ 2; 0 for N = 1)
 *   cross-polytope:  floor = 2·√max(0, N/2−d)              (the same for every pairing M)
 * and floor = 0 exactly when attainable. Below the attainable dimension the distance measures
 * closeness to an optimum that cannot exist; report `distance − floor` (≥ 0 up to rounding) as
 * the excess over the best any rank-d configuration can do.
 *
 * Cost: O(N²·d) for both kinds; the ETF distance streams one row of X at a time, the
 * cross-polytope one stores X and the weights (O(N²)) and adds the O(N³) matching.
 *
 * Example: gramDistance(simplexEtf(5, 4), simplexEtf(5, 4), 'etf').distance ≈ 1e-16 (attainable,
 * floor 0); at N = 2000, d = 128 every U, V has an ETF distance ≥ floor = (2000/1999)·√1871 ≈ 43.3.
 */
import { DomainError } from '../core/errors.ts';
import { type Matrix, toContiguous } from '../core/matrix.ts';
import { minWeightPerfectMatching } from '../core/assignment.ts';
import { assertFiniteMatrix, assertNonEmpty, assertSameShape } from '../core/validate.ts';

export type OptimumKind = 'etf' | 'cross-polytope';

export interface GramDistanceResult {
  /** ‖U Vᵀ − G*‖_F, minimised over the pairing for the cross-polytope. */
  readonly distance: number;
  /** Cross-polytope only: pairing[i] = the point playing the antipode of i in the best G* = I − A_M. */
  readonly pairing?: Int32Array;
  /** Whether some N x d configuration has U Vᵀ = G* (etf: d ≥ N − 1; cross-polytope: d ≥ N/2). */
  readonly attainable: boolean;
  /**
   * The smallest ‖X − G*‖_F over X of rank ≤ d (Eckart–Young), a lower bound of `distance` up to
   * rounding; 0 when attainable. `distance − floor` is the excess.
   */
  readonly floor: number;
}

/** Whether the optimal Gram of `kind` is attainable with N points in R^d, and the rank-d floor (see the module comment). */
export function gramFloor(kind: OptimumKind, N: number, d: number): { attainable: boolean; floor: number } {
  if (kind === 'etf') {
    if (N <= 1) return { attainable: true, floor: 0 };
    const missing = Math.max(0, N - 1 - d);
    return { attainable: missing === 0, floor: (N / (N - 1)) * Math.sqrt(missing) };
  }
  const missing = Math.max(0, N / 2 - d);
  return { attainable: missing === 0, floor: 2 * Math.sqrt(missing) };
}

/** Scaled sum of squares (LAPACK dlassq style): no overflow or underflow for any finite inputs. */
class SumSquares {
  private scale = 0;
  private ssq = 1;
  add(x: number): void {
    const a = Math.abs(x);
    if (a === 0) return;
    if (this.scale < a) {
      this.ssq = 1 + this.ssq * (this.scale / a) ** 2;
      this.scale = a;
    } else {
      this.ssq += (a / this.scale) ** 2;
    }
  }
  norm(): number {
    return this.scale * Math.sqrt(this.ssq);
  }
}

/** Row i of U Vᵀ into `out` (U, V contiguous float arrays of width d). */
function gramRow(u: Matrix, v: Matrix, i: number, out: Float64Array): void {
  const d = u.cols;
  const ui = i * d;
  for (let j = 0; j < v.rows; j++) {
    const vj = j * d;
    let s = 0;
    for (let k = 0; k < d; k++) s += u.data[ui + k]! * v.data[vj + k]!;
    out[j] = s;
  }
}

/**
 * ‖U Vᵀ − G*‖_F for the optimum `kind` (minimised over pairings for the cross-polytope; the
 * optimal pairing is returned), with whether G* is attainable in R^d and the rank-d floor of the
 * distance. U and V are N x d with the same shape; rows need not be unit.
 */
export function gramDistance(U: Matrix, V: Matrix, kind: OptimumKind): GramDistanceResult {
  const op = 'gramDistance';
  assertNonEmpty(op, 'U', U);
  assertSameShape(op, 'U', U, 'V', V);
  assertFiniteMatrix(op, 'U', U);
  assertFiniteMatrix(op, 'V', V);
  const N = U.rows;
  const u = toContiguous(U, 'f64');
  const v = toContiguous(V, 'f64');

  if (kind === 'etf') {
    const diag = 1;
    const off = N === 1 ? 0 : -1 / (N - 1);
    const row = new Float64Array(N);
    const acc = new SumSquares();
    for (let i = 0; i < N; i++) {
      gramRow(u, v, i, row);
      for (let j = 0; j < N; j++) acc.add(row[j]! - (i === j ? diag : off));
    }
    return { distance: acc.norm(), ...gramFloor('etf', N, U.cols) };
  }

  if (kind === 'cross-polytope') {
    if (N % 2 !== 0) throw new DomainError(op, `the cross-polytope Gram needs an even number of points, got N = ${N}`);
    const X = new Float64Array(N * N);
    const row = new Float64Array(N);
    for (let i = 0; i < N; i++) {
      gramRow(u, v, i, row);
      X.set(row, i * N);
    }
    const W = new Float64Array(N * N);
    for (let i = 0; i < N; i++) {
      for (let j = i + 1; j < N; j++) {
        const s = X[i * N + j]! + X[j * N + i]!;
        W[i * N + j] = s;
        W[j * N + i] = s;
      }
    }
    const { mate } = minWeightPerfectMatching({ data: W, rows: N, cols: N, rowStride: N, colStride: 1, offset: 0 });
    const acc = new SumSquares();
    for (let i = 0; i < N; i++) {
      const m = mate[i]!;
      for (let j = 0; j < N; j++) acc.add(X[i * N + j]! - (i === j ? 1 : j === m ? -1 : 0));
    }
    return { distance: acc.norm(), pairing: mate, ...gramFloor('cross-polytope', N, U.cols) };
  }

  throw new DomainError(op, `kind must be 'etf' or 'cross-polytope', got ${String(kind)}`);
}
