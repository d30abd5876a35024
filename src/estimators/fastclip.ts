/**
 * FastCLIP-v3 (arXiv 2407.01445; THEORY 5): SogCLR's estimator with one global learnable τ.
 *
 * Objective, in THEORY 2.3's units: F(U, V, τ) = (τ/(2N)) Σ_a log(ε₀ + g_a(τ)) + ρτ. FastCLIP writes
 * it as (τ/N) Σ_i [log(ε₀ + g1_i) + log(ε₀ + g2_i)] + 2ρτ, i.e. twice this: the "2ρτ" is ρτ per side,
 * the same ρ as iSogCLR's per-anchor KL radius; minimisers and the τ dynamics (up to the factor 2 in
 * the learning rate) are the same.
 *
 * Step: log ĝ_a(τ) and the embedding estimate exactly as SogCLR at the current τ (pairLse,
 * pairSoftmaxGrad); then one projected gradient step on τ with the batch estimate
 *   ∂F/∂τ ≈ (1/(2B)) Σ_a [ log(ε₀ + u_a) − (ĝ_a/(ε₀ + u_a))·E_{softmax'_a}[h_a/τ] ] + ρ
 *         = (1/(2B)) Σ_a log(ε₀ + u_a) − ⟨X, G Y/τ⟩/τ + ρ
 * where the last inner product is a by-product of the gradient kernel's output (batch.ts, pairDot),
 * so τ costs no extra pass. At u = ĝ and ε₀ = 0 the bracket is −KL(softmax'_a ‖ uniform).
 * The state holds τ (a number) with the u's; `batchValue` is the plug-in value at the step's τ.
 *
 * State: owned by the caller and updated in place: the batch's 2B u slots and the field `tau` (a plain
 * mutable number, so the state stays a JSON-friendly record; read it after the step for the new τ);
 * O(B) per step whatever N. `clone` gives a deep copy for snapshots.
 */
import { ConfigError, DomainError } from '../core/errors.ts';
import { logEpsPlusExp } from '../objectives/common.ts';
import { batchPairs, pluginValue, surrogateGrad, surrogateWeights } from './batch.ts';
import { checkInput } from './input.ts';
import {
  checkMovingAverage, copyMovingAverage, initMovingAverage, type MovingAverageState, updateMovingAverage,
} from './movingAverage.ts';
import { type EstimatorSpec, gammaAt } from './spec.ts';
import type { Estimator, EstimatorInput, EstimatorOutput, Modality } from './types.ts';

export type FastclipSpec = Extract<EstimatorSpec, { kind: 'fastclip-v3' }>;

export interface FastclipState extends MovingAverageState {
  /** The global temperature; `step` overwrites it in place with the next one. */
  tau: number;
}

export function fastclipEstimator(spec: FastclipSpec): Estimator<FastclipState> {
  const op = 'fastclip-v3';
  const modality: Modality = spec.modality ?? 'bimodal';
  const eps0 = spec.eps0 ?? 0;
  const { tau0, tauMin, tauMax, rho, tauLr } = spec;
  return {
    name: 'fastclip-v3',
    modality,
    init(n: number): FastclipState {
      if (!Number.isInteger(n) || n < 2) throw new ConfigError(op, `init needs N >= 2 examples, got ${n}`);
      return { ...initMovingAverage(n, false), tau: tau0 };
    },
    step(input: EstimatorInput, state: FastclipState): EstimatorOutput<FastclipState> {
      checkMovingAverage(op, state, false);
      const tau = state.tau;
      if (typeof tau !== 'number' || !(tau > 0) || !Number.isFinite(tau)) throw new DomainError(op, `state.tau is ${tau}; it must be finite and > 0`);
      const { U, V, B } = checkInput(op, input, state.n);
      const p = batchPairs(modality, U, V, tau, input.backend);
      const logU = updateMovingAverage(state, input.index, p.logG, gammaAt(spec.gamma, input.epoch));
      const scale = tau / (2 * B);
      const g = surrogateGrad(p, surrogateWeights(p.logG, logU, eps0, scale));
      let sLog = 0;
      for (let a = 0; a < 2 * B; a++) sLog += logEpsPlusExp(eps0, logU[a]!);
      const gTau = sLog / (2 * B) - g.pairDot / tau + rho;
      state.tau = Math.min(tauMax, Math.max(tauMin, tau - tauLr * gTau));
      return { gradU: g.gradU, gradV: g.gradV, state, batchValue: pluginValue(p.logG, eps0, scale) + rho * tau };
    },
    clone(state: FastclipState): FastclipState {
      return { ...copyMovingAverage(state), tau: state.tau };
    },
  };
}
