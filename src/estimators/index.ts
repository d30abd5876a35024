/**
 * Gradient estimators of the global contrastive objective (THEORY 2.3, 5), made from JSON specs.
 *
 * @example
 *   const est = makeEstimator({ kind: 'sogclr', modality: 'unimodal', tau: 0.1, gamma: 0.9 });
 *   const state = est.init(N);
 *   const out = est.step({ U: Ub, V: Vb, index, epoch, step, backend }, state); // updates state in place
 *   const snapshot = est.clone(state);                                         // a deep copy, for checkpoints
 */
import { fastclipEstimator } from './fastclip.ts';
import { isogclrEstimator } from './isogclr.ts';
import { pluginEstimator } from './plugin.ts';
import { sogclrEstimator } from './sogclr.ts';
import { type EstimatorSpec, validateEstimatorSpec } from './spec.ts';
import type { Estimator } from './types.ts';

export type { Estimator, EstimatorInput, EstimatorOutput, Modality } from './types.ts';
export {
  type EstimatorKind, type EstimatorSpec, ESTIMATOR_KINDS, type GammaSpec, gammaAt, MODALITIES, type SogclrPitfalls,
  validateEstimatorSpec,
} from './spec.ts';
export {
  anchorLogG, type SurrogateOptions, type SurrogateResult, surrogateGradient,
} from './batch.ts';
export {
  initMovingAverage, type MovingAverageRules, type MovingAverageState, movingAverageFromLogU, movingAverageLogU,
} from './movingAverage.ts';
export { type PluginKind, type PluginState, pluginEps0, pluginEstimator } from './plugin.ts';
export { type SogclrSpec, type SogclrState, sogclrEstimator } from './sogclr.ts';
export { type IsogclrSpec, type IsogclrState, isogclrEstimator, robustDual, robustDualTauGrad } from './isogclr.ts';
export { type FastclipSpec, type FastclipState, fastclipEstimator } from './fastclip.ts';

export interface MakeEstimatorOptions {
  /** How the spec is named in error messages (default 'estimator'), e.g. 'experiment.estimator'. */
  readonly path?: string;
}

/** Validates `spec` (ConfigError / DomainError naming path and value) and builds its estimator. */
export function makeEstimator(spec: EstimatorSpec, opts: MakeEstimatorOptions = {}): Estimator {
  const s = validateEstimatorSpec(spec, opts.path ?? 'estimator');
  switch (s.kind) {
    case 'simclr': return pluginEstimator('simclr', 'unimodal', s.tau) as Estimator;
    case 'clip': return pluginEstimator('clip', 'bimodal', s.tau) as Estimator;
    case 'dcl': return pluginEstimator('dcl', s.modality, s.tau) as Estimator;
    case 'sogclr': return sogclrEstimator(s) as Estimator;
    case 'isogclr': return isogclrEstimator(s) as Estimator;
    case 'fastclip-v3': return fastclipEstimator(s) as Estimator;
  }
}
