/** Backend construction and the default backend (the blocked CPU backend, float64). */
import type { Backend } from './types.ts';
import { createReferenceBackend } from './reference.ts';

export type { Backend, Kernels, PairSpec, PairExclusion, PairLseResult, PairGradCoefficients, PairGradResult } from './types.ts';
export { createReferenceBackend } from './reference.ts';

let fallback: Backend | null = null;

/** The backend used when a caller passes none: created once, stateless between calls. */
export function defaultBackend(): Backend {
  fallback ??= createReferenceBackend({ dtype: 'f64' });
  return fallback;
}
