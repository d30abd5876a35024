/** Backend construction and the default backend (the blocked CPU backend, float64). */
import { createCpuBackend } from './cpu/index.ts';
import type { Backend } from './types.ts';

export type { Backend, Kernels, PairSpec, PairExclusion, PairLseResult, PairGradCoefficients, PairGradResult, SigmoidSpec, PairSigmoidResult } from './types.ts';
export { createReferenceBackend } from './reference.ts';
export { createCpuBackend, type CpuBackendOptions } from './cpu/index.ts';

let fallback: Backend | null = null;

/** The backend used when a caller passes none: the CPU backend in float64, created once on first use. */
export function defaultBackend(): Backend {
  fallback ??= createCpuBackend({ dtype: 'f64' });
  return fallback;
}
