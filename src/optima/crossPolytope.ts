/**
 * The cross-polytope: N = 2d unit vectors ±e_k of R^d, the reference optimum of CHO's synthetic
 * code for d = N/2 (its optimality there is [unverified] in THEORY 3).
 *
 * Labelling: row k is e_k and row k + d is -e_k (k < d), so the antipode of i is (i + d) mod N and
 *   G*_ij = 1 (i = j),  -1 (j the antipode of i),  0 otherwise,   i.e. G* = I - A_M
 * with A_M the (symmetric permutation) matrix of the antipodal pairing M. Relabelling the points
 * changes M, so the set of optimal Gram matrices is { I - A_M : M a perfect matching of [N] }.
 *
 * Example: crossPolytope(4, 2) has the rows (1,0), (0,1), (-1,0), (0,-1).
 */
import { DomainError } from '../core/errors.ts';
import { type Matrix64, zeros } from '../core/matrix.ts';
import { assertPositiveInt } from '../core/validate.ts';
import { haarOrthogonal, type RandomRotationOptions, rotateRows } from './etf.ts';

function assertCrossPolytopeShape(op: string, N: number, d: number): void {
  assertPositiveInt(op, 'd', d);
  if (!Number.isInteger(N) || N !== 2 * d) {
    throw new DomainError(op, `a cross-polytope in R^d has N = 2d points; got N = ${N} and d = ${d}`);
  }
}

/** The antipode of point i in the canonical labelling of `crossPolytope(N, N/2)`: (i + N/2) mod N. */
export function crossPolytopeAntipode(i: number, N: number): number {
  return (i + N / 2) % N;
}

/**
 * N = 2d unit rows ±e_k (row k = e_k, row k + d = -e_k). With `opts.rng`, multiplied by a
 * Haar-random orthogonal matrix of R^d.
 */
export function crossPolytope(N: number, d: number, opts: RandomRotationOptions = {}): Matrix64 {
  assertCrossPolytopeShape('crossPolytope', N, d);
  const u = zeros(N, d);
  for (let k = 0; k < d; k++) {
    u.data[k * d + k] = 1;
    u.data[(k + d) * d + k] = -1;
  }
  return opts.rng ? rotateRows(u, haarOrthogonal(d, opts.rng)) : u;
}

/**
 * The cross-polytope Gram matrix I - A_M for the pairing M (`pairing[i]` = the antipode of i,
 * a fixed-point-free involution); without `pairing`, the canonical one i ↔ (i + N/2) mod N.
 */
export function crossPolytopeGram(N: number, pairing?: ArrayLike<number>): Matrix64 {
  assertPositiveInt('crossPolytopeGram', 'N', N, 2);
  if (N % 2 !== 0) throw new DomainError('crossPolytopeGram', `a cross-polytope has an even number of points, got N = ${N}`);
  if (pairing !== undefined) {
    if (pairing.length !== N) throw new DomainError('crossPolytopeGram', `pairing has ${pairing.length} entries but N = ${N}`);
    for (let i = 0; i < N; i++) {
      const j = pairing[i]!;
      if (!Number.isInteger(j) || j < 0 || j >= N || j === i || pairing[j] !== i) {
        throw new DomainError('crossPolytopeGram', `pairing must be a fixed-point-free involution of 0..${N - 1}; pairing[${i}] = ${j}`);
      }
    }
  }
  const g = zeros(N, N);
  for (let i = 0; i < N; i++) {
    g.data[i * N + i] = 1;
    const j = pairing === undefined ? crossPolytopeAntipode(i, N) : pairing[i]!;
    g.data[i * N + j] = -1;
  }
  return g;
}
