/**
 * Stochastic estimators of the gradient of the global contrastive objective (THEORY 2.3, 5).
 *
 * An estimator sees one mini-batch at a time: the batch's embeddings (the B rows of U and V, or the
 * two augmented views of B examples), their global data indices, and its own per-anchor state
 * (SogCLR's moving averages u, iSogCLR's temperatures), indexed by data index and kept as explicit,
 * serialisable data.
 *
 * State contract: the state is owned by the caller and `step` updates it IN PLACE, for the anchors of
 * the batch only (SogCLR's u slots, iSogCLR's τ_a, FastCLIP's global τ), returning that same object as
 * `output.state`; a step costs O(B·d + B²) time and memory, nothing of size N. A caller that needs the
 * state as it was before a step (a checkpoint, a test comparing two continuations) takes `clone(state)`
 * first. Should `step` throw after its input checks, the batch's slots may already be updated: resume
 * from a clone, not from the state passed in. It returns an estimate of ∂F/∂(batch embeddings), where F is the global
 * objective in THEORY 2.3's units (τ·log(ε₀ + g), averaged over the anchors of the whole data set):
 * the runner chains it into the parameters (free embeddings: scatter; an encoder: backprop).
 *
 * The estimate is m_b = ∂F̂_b/∂(batch rows) of the batch surrogate
 *   bimodal   F̂_b = (τ/(2B)) Σ_{i∈b} [ ĝ1_i/(ε₀+u1_i) + ĝ2_i/(ε₀+u2_i) ]      (u held fixed)
 *   unimodal  F̂_b = (τ/(2B)) Σ_{a ∈ 2B views} ĝ_a/(ε₀+u_a)
 * with ĝ the in-batch means over negatives. Scattered into the full parameter vector (or chained
 * through an encoder) it is an unbiased estimate of ∇F when u = g exactly (THEORY 5); the plug-in
 * estimators (SimCLR, DCL, CLIP) are the case u = ĝ.
 */
import type { Backend } from '../backend/types.ts';
import type { Matrix, Matrix64 } from '../core/matrix.ts';

export type Modality = 'bimodal' | 'unimodal';

export interface EstimatorInput {
  /** Batch embeddings, B x d, unit rows: bimodal u_i / v_i of the batch pairs; unimodal the two views. */
  readonly U: Matrix;
  readonly V: Matrix;
  /** Global data index of each batch row (length B, distinct). */
  readonly index: Int32Array;
  /** 0-based epoch (γ schedules) and step. */
  readonly epoch: number;
  readonly step: number;
  readonly backend: Backend;
}

export interface EstimatorOutput<S> {
  /** Estimate of ∂F/∂U_b and ∂F/∂V_b (B x d, float64), see the scaling note above. */
  readonly gradU: Matrix64;
  readonly gradV: Matrix64;
  /** The input state itself, updated in place. */
  readonly state: S;
  /** The plug-in value of F on the batch (mini-batch estimate, for logging). */
  readonly batchValue: number;
}

export interface Estimator<S = unknown> {
  readonly name: string;
  readonly modality: Modality;
  /** Per-anchor state for N examples (JSON-serialisable through src/io/codec.ts: typed arrays allowed). */
  init(n: number): S;
  /** One step: updates `state` in place (the batch's anchors only) and returns it as `output.state`. */
  step(input: EstimatorInput, state: S): EstimatorOutput<S>;
  /** A deep copy of `state` (O(N)): for snapshots and checkpoints, never needed by `step` itself. */
  clone(state: S): S;
}
