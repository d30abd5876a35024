/**
 * SogCLR (SOG; THEORY 5): per-anchor moving averages u of the in-batch ĝ, and the estimate
 *   m_b = ∂/∂(U_b, V_b) (τ/(2B)) Σ_a ĝ_a/(ε₀ + u_a)      (u after this step's update, held fixed)
 * Each step: log ĝ per anchor (pairLse), the u update (first visit u ← ĝ, then (1−γ)u + γĝ; see
 * movingAverage.ts for the max-shifted storage), the weights (τ/(2B))·ĝ/(ε₀ + u) from log u, and one
 * pairSoftmaxGrad. γ = 1 (or a first visit) gives u = ĝ exactly: the plug-in estimator, bit for bit.
 *
 * Options: `sharedU` keeps one u per example for its two anchors (SOG's official code: each anchor's
 * weight uses its own updated value, their mean is stored); pitfalls, for tests and demonstrations:
 * `sumStorage` (store u1 + u2; the used u settles at γ/(2γ−1) times ḡ for γ > 1/2 and diverges for
 * γ ≤ 1/2) and `batchFirstVisit` (γ = 1 only for a batch none of whose entries were seen before;
 * an unseen entry in a mixed batch gets u = γ·ĝ).
 *
 * State: owned by the caller and updated in place, the 2B (sharedU: B) slots of the batch only, so a
 * step costs O(B·d + B²) whatever N; `clone` gives a deep copy (O(N)) for snapshots.
 *
 * @example
 *   const est = sogclrEstimator({ kind: 'sogclr', modality: 'bimodal', tau: 0.1, gamma: 0.9 });
 *   const state = est.init(N);
 *   const before = est.clone(state);   // only if the pre-step state is needed later
 *   const out = est.step({ U: Ub, V: Vb, index, epoch: 0, step: 0, backend }, state);
 *   out.state === state;               // true: the batch's u slots were updated in place
 */
import { ConfigError } from '../core/errors.ts';
import { batchPairs, pluginValue, surrogateGrad, surrogateWeights } from './batch.ts';
import { checkInput } from './input.ts';
import {
  checkMovingAverage, copyMovingAverage, initMovingAverage, type MovingAverageState, updateMovingAverage,
} from './movingAverage.ts';
import { type EstimatorSpec, gammaAt } from './spec.ts';
import type { Estimator, EstimatorInput, EstimatorOutput } from './types.ts';
import { mutant } from '../core/mutants.ts';

export type SogclrSpec = Extract<EstimatorSpec, { kind: 'sogclr' }>;
export type SogclrState = MovingAverageState;

export function sogclrEstimator(spec: SogclrSpec): Estimator<SogclrState> {
  const op = 'sogclr';
  const shared = spec.sharedU ?? false;
  const eps0 = spec.eps0 ?? 0;
  return {
    name: 'sogclr',
    modality: spec.modality,
    init(n: number): SogclrState {
      if (!Number.isInteger(n) || n < 2) throw new ConfigError(op, `init needs N >= 2 examples, got ${n}`);
      return initMovingAverage(n, shared);
    },
    step(input: EstimatorInput, state: SogclrState): EstimatorOutput<SogclrState> {
      checkMovingAverage(op, state, shared);
      const { U, V, B } = checkInput(op, input, state.n);
      const gamma = mutant('sogclr-gamma-one') ? 1 : gammaAt(spec.gamma, input.epoch);
      const rules = {
        sumStorage: (spec.pitfalls?.sumStorage ?? false) || (shared && mutant('u-sum-storage')),
        batchFirstVisit: (spec.pitfalls?.batchFirstVisit ?? false) || mutant('batch-first-visit'),
      };
      const p = batchPairs(spec.modality, U, V, spec.tau, input.backend);
      const logU = updateMovingAverage(state, input.index, p.logG, gamma, rules);
      const scale = spec.tau / (2 * B);
      const g = surrogateGrad(p, surrogateWeights(p.logG, logU, eps0, scale));
      return { gradU: g.gradU, gradV: g.gradV, state, batchValue: pluginValue(p.logG, eps0, scale) };
    },
    clone(state: SogclrState): SogclrState {
      return copyMovingAverage(state);
    },
  };
}
