/** Every objective by name, for the CLI, the solver and the experiment runner. */
import { ConfigError } from '../core/errors.ts';
import type { Matrix } from '../core/matrix.ts';
import { tangentProject } from '../core/sphere.ts';
import type { LossAndGrad, MatrixLike, ObjectiveOptions } from './common.ts';
import { gclBimodalLossAndGrad, gclUnimodalLossAndGrad } from './gcl.ts';
import { infonceLossAndGrad, infonceUvLossAndGrad } from './infonce.ts';
import { type BatchSet, minibatchLossAndGrad } from './minibatch.ts';
import { sigmoidLossAndGrad } from './sigmoid.ts';

export type { LossAndGrad, MatrixLike, ObjectiveOptions } from './common.ts';
export { asMatrix } from './common.ts';
export { accurateSum } from './common.ts';
export { infonceLossAndGrad, infonceUvLossAndGrad } from './infonce.ts';
export { gclBimodalLossAndGrad, gclUnimodalLossAndGrad, type GclOptions } from './gcl.ts';
export { minibatchLossAndGrad, validateBatchList, type BatchSet, type MinibatchOptions } from './minibatch.ts';
export { sigmoidLossAndGrad, SIGMOID_DEFAULT_B, SIGMOID_DEFAULT_T, type SigmoidLossAndGrad, type SigmoidOptions } from './sigmoid.ts';

export const OBJECTIVE_NAMES = ['infonce', 'infonce-uv', 'minibatch', 'gcl-bimodal', 'gcl-unimodal', 'sigmoid'] as const;
export type ObjectiveName = (typeof OBJECTIVE_NAMES)[number];

/** An objective as data: what the CLI and experiment specs name. */
export interface ObjectiveSpec {
  readonly name: ObjectiveName;
  /** Temperature of the softmax objectives (default 1); not for sigmoid. */
  readonly tau?: number;
  /** sigmoid: the scale t > 0 (default 10) and the bias b (default −10), SigLIP's initialisation. */
  readonly t?: number;
  readonly b?: number;
  /** gcl-*: ε₀ (default 0). */
  readonly eps0?: number;
  /** minibatch: the batch set. */
  readonly batches?: BatchSet;
  /** minibatch with all batches: the enumeration cap. */
  readonly maxBatches?: number;
}

export function isObjectiveName(s: string): s is ObjectiveName {
  return (OBJECTIVE_NAMES as readonly string[]).includes(s);
}

/**
 * Evaluates the named objective: value and Euclidean gradients. sigmoid is evaluated at fixed
 * (t, b); its gradients in t and b come from sigmoidLossAndGrad itself.
 */
export function evaluateObjective(spec: ObjectiveSpec, U: MatrixLike, V: MatrixLike, opts: Omit<ObjectiveOptions, 'tau'> = {}): LossAndGrad {
  if (spec.name === 'sigmoid' && spec.tau !== undefined) {
    throw new ConfigError('sigmoid', `tau does not apply to the sigmoid loss (got tau = ${spec.tau}); its scale is t (= 1/τ) and its bias b`);
  }
  if (spec.name !== 'sigmoid' && (spec.t !== undefined || spec.b !== undefined)) {
    throw new ConfigError(spec.name, `t and b apply to the sigmoid loss only, not to '${spec.name}'`);
  }
  const o = { ...opts, tau: spec.tau ?? 1 };
  switch (spec.name) {
    case 'infonce':
      return infonceLossAndGrad(U, V, o);
    case 'infonce-uv':
      return infonceUvLossAndGrad(U, V, o);
    case 'gcl-bimodal':
      return gclBimodalLossAndGrad(U, V, { ...o, eps0: spec.eps0 ?? 0 });
    case 'gcl-unimodal':
      return gclUnimodalLossAndGrad(U, V, { ...o, eps0: spec.eps0 ?? 0 });
    case 'minibatch':
      if (!spec.batches) throw new ConfigError('minibatch', 'needs a batch set (an explicit list or all batches of size B)');
      return minibatchLossAndGrad(U, V, { ...o, batches: spec.batches, maxBatches: spec.maxBatches });
    case 'sigmoid': {
      const r = sigmoidLossAndGrad(U, V, { t: spec.t, b: spec.b, backend: opts.backend, grad: opts.grad });
      return { value: r.value, gradU: r.gradU, gradV: r.gradV };
    }
    default: {
      const name: never = spec.name;
      throw new ConfigError('evaluateObjective', `unknown objective '${String(name)}'; expected one of ${OBJECTIVE_NAMES.join(', ')}`);
    }
  }
}

/** Riemannian gradients (tangent to the unit spheres at the normalised rows) of a LossAndGrad. */
export function riemannianGrad(U: Matrix, V: Matrix, r: LossAndGrad): { gradU: Matrix; gradV: Matrix } {
  if (!r.gradU || !r.gradV) throw new ConfigError('riemannianGrad', 'the result has no gradients (evaluated with grad: false)');
  return { gradU: tangentProject(U, r.gradU), gradV: tangentProject(V, r.gradV) };
}
