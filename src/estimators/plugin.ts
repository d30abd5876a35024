/**
 * Plug-in mini-batch estimators: SogCLR's surrogate with u = ĝ, i.e. the gradient of the batch's own
 * GCL value (τ/(2B)) Σ_a log(ε₀ + ĝ_a) (THEORY 2.3, 5):
 *   simclr  unimodal NT-Xent on 2B views: ε₀ = 1/(2B−2)  (τ·NT-Xent = GCL_batch + τ·log(2B−2))
 *   dcl     ε₀ = 0, either modality
 *   clip    bimodal two-sided InfoNCE:    ε₀ = 1/(B−1)   (τ·InfoNCE = GCL_batch + τ·log(B−1))
 * They keep no per-anchor state (the state is {n}; `step` returns it unchanged, `clone` copies it); `batchValue` is the GCL value with that ε₀ (add τ·log m for the
 * NT-Xent / InfoNCE value).
 */
import { batchPairs, pluginValue, surrogateGrad, surrogateWeights } from './batch.ts';
import { checkInput } from './input.ts';
import type { Estimator, EstimatorInput, EstimatorOutput, Modality } from './types.ts';
import { ConfigError } from '../core/errors.ts';
import { mutant } from '../core/mutants.ts';

export interface PluginState {
  readonly n: number;
}

export type PluginKind = 'simclr' | 'dcl' | 'clip';

/** ε₀ of a plug-in estimator at batch size B. */
export function pluginEps0(kind: PluginKind, B: number): number {
  switch (kind) {
    case 'simclr': return mutant('simclr-eps0-clip-count') ? 1 / (B - 1) : 1 / (2 * B - 2);
    case 'clip': return 1 / (B - 1);
    case 'dcl': return 0;
  }
}

export function pluginEstimator(kind: PluginKind, modality: Modality, tau: number): Estimator<PluginState> {
  const op = kind;
  return {
    name: kind,
    modality,
    init(n: number): PluginState {
      if (!Number.isInteger(n) || n < 2) throw new ConfigError(op, `init needs N >= 2 examples, got ${n}`);
      return { n };
    },
    step(input: EstimatorInput, state: PluginState): EstimatorOutput<PluginState> {
      if (state === null || typeof state !== 'object' || !Number.isInteger(state.n)) throw new ConfigError(op, 'state must be {n} from init');
      const { U, V, B } = checkInput(op, input, state.n);
      const p = batchPairs(modality, U, V, tau, input.backend);
      const eps0 = pluginEps0(kind, B);
      const scale = tau / (2 * B);
      const g = surrogateGrad(p, surrogateWeights(p.logG, null, eps0, scale));
      return { gradU: g.gradU, gradV: g.gradV, state, batchValue: pluginValue(p.logG, eps0, scale) };
    },
    clone(state: PluginState): PluginState {
      return { n: state.n };
    },
  };
}
