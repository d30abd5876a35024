/**
 * Optimizers as pure gradient transformations (optax style):
 *   init(params) -> state,  update(grads, state, params) -> { updates, state }
 * `chain(...)` composes them; `applyUpdates(params, updates)` adds the updates. A schedule is
 * `(step) => number`. States are plain data (typed arrays and numbers) so checkpoints can store them.
 * Updates are what gets ADDED to the parameters (so SGD's update is −η·g).
 */
import type { Matrix64 } from '../core/matrix.ts';

/** Named parameter matrices (free embeddings: { U, V }; an encoder: { W } ...). */
export type Params = Readonly<Record<string, Matrix64>>;

export type OptState = unknown;

/**
 * `donateState: true`: the caller gives up `state` (JAX's buffer donation), so the transform may
 * write the new state into the old state's buffers instead of fresh ones. The numbers are the same
 * bits either way; the old state object must not be read afterwards. The training loop donates the
 * state it owns (it copies the state at checkpoints), which saves two allocations of the parameters'
 * size per step for AdamW.
 */
export interface UpdateOptions { readonly donateState?: boolean }

export interface GradientTransformation<S = OptState> {
  init(params: Params): S;
  update(grads: Params, state: S, params: Params, opts?: UpdateOptions): { updates: Params; state: S };
}

export type Schedule = (step: number) => number;
