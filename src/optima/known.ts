/**
 * Which known optimum applies to an objective at a shape (THEORY 3), with its closed-form value
 * and the distance to its optimal Gram set.
 *   infonce, d ≥ N−1                 simplex ETF             log(1 + (N−1)·exp(−N/((N−1)τ)))
 *   minibatch over all C(N,B), d ≥ N−1   ETF (CHO Thm 4)     log(1 + (B−1)·exp(−N/((N−1)τ)))
 *   infonce, N = 2d (d < N−1)        cross-polytope [unverified optimality]  log(1 + e^{−2/τ} + (N−2)e^{−1/τ})
 * None is returned for other objectives or shapes.
 */
import type { Matrix } from '../core/matrix.ts';
import type { ObjectiveSpec } from '../objectives/index.ts';
import { allBatchesInfonce, crossPolytopeInfonce, etfInfonce } from './closedForms.ts';
import { gramDistance, type OptimumKind } from './gramDistance.ts';

export interface KnownOptimum {
  readonly kind: OptimumKind;
  /** The objective's value at the optimum (closed form). */
  readonly value: number;
  /** THEORY's tag for the optimality statement. */
  readonly status: 'proved' | 'unverified';
  /** ‖UVᵀ − G*‖_F, minimised over the optimal Gram set. */
  distance(U: Matrix, V: Matrix): number;
}

export function knownOptimum(objective: ObjectiveSpec, n: number, d: number): KnownOptimum | null {
  const tau = objective.tau ?? 1;
  const dist = (kind: OptimumKind) => (U: Matrix, V: Matrix) => gramDistance(U, V, kind).distance;
  if (n >= 2 && d >= n - 1) {
    if (objective.name === 'infonce') return { kind: 'etf', value: etfInfonce(n, tau), status: 'proved', distance: dist('etf') };
    if (objective.name === 'minibatch' && objective.batches?.kind === 'all' && objective.batches.B >= 2) {
      return { kind: 'etf', value: allBatchesInfonce(n, objective.batches.B, tau), status: 'proved', distance: dist('etf') };
    }
  }
  if (objective.name === 'infonce' && n === 2 * d && d >= 1 && n >= 2) {
    return { kind: 'cross-polytope', value: crossPolytopeInfonce(n, tau), status: 'unverified', distance: dist('cross-polytope') };
  }
  return null;
}
