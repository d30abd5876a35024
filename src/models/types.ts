/**
 * Models: pure functions over explicit parameters that produce the two embeddings a contrastive
 * objective or estimator consumes (THEORY 5, "Parametrisations").
 *
 *   forward(params, index, rng)  ->  U, V (B x d, unit rows) for the examples `index`
 *   estimator / objective        ->  ∂F/∂U, ∂F/∂V (B x d)
 *   backward(params, cache, ∂U, ∂V) -> ∂F/∂params (same keys and shapes as params)
 *
 * Free embeddings (bimodal pairs u_i, v_i, as in CHO): the parameters are the N x d rows themselves.
 * Encoders (unimodal, two augmented views of each input, as in SogCLR's analysis): one weight set
 * serves every example, u_i = normalize(f_W(x̃_i¹)), v_i = normalize(f_W(x̃_i²)).
 *
 * All arithmetic is float64. A backend whose dtype is not 'f64' is replaced by the default float64
 * CPU backend for the model's products.
 */
import type { Backend } from '../backend/types.ts';
import type { Matrix64 } from '../core/matrix.ts';
import type { Rng } from '../core/random.ts';
import type { Params } from '../optim/types.ts';

/**
 * Row-sparse parameter gradients: for every key k of `grads`, row r of grads[k] is the gradient
 * with respect to row index[r] of params[k] (other rows: zero). Repeated indices add.
 */
export interface RowGradients {
  readonly index: Int32Array;
  readonly grads: Readonly<Record<string, Matrix64>>;
}

export interface ModelOutput {
  /** B x d unit rows (first view / first modality); encoders: a zero encoder output gives a zero row (see encoder.ts). */
  readonly U: Matrix64;
  /** B x d unit rows (second view / second modality). */
  readonly V: Matrix64;
  /** What `backward` needs; opaque to callers. */
  readonly cache: unknown;
}

export interface Model {
  readonly name: string;
  /** 'bimodal' (free embeddings: pairs u_i, v_i) or 'unimodal' (two views of one input through one encoder). */
  readonly modality: 'bimodal' | 'unimodal';
  /** Number of training examples N the model embeds. */
  readonly n: number;
  /** Embedding dimension d. */
  readonly d: number;
  /** Fresh parameters drawn from `rng`. */
  init(rng: Rng): Params;
  /** The batch's two embeddings (unit rows, B x d) for the examples `index`, augmentations drawn from rng; a cache for backward. */
  forward(params: Params, index: Int32Array, rng: Rng, backend: Backend): ModelOutput;
  /**
   * Parameter gradients (dense: same keys and shapes as params) from the gradients with respect to
   * the embeddings of a `forward` or `embedAll` call (through the row normalisation and the encoder).
   */
  backward(params: Params, cache: unknown, gradU: Matrix64, gradV: Matrix64): Params;
  /**
   * Embeddings of every training example with FIXED views (see each model), so that the exact
   * objective F is a deterministic function of the parameters; its cache goes to `backward`.
   */
  embedAll(params: Params, backend: Backend): ModelOutput;
  /** Embeddings (unit rows) of arbitrary inputs (held-out evaluation); encoders only. */
  embedInputs?(params: Params, X: Matrix64, backend: Backend): Matrix64;
  /**
   * Row-sparse backward (free embeddings): O(B·d) work and memory instead of the N x d zero-filled
   * matrices of `backward`.
   */
  backwardRows?(params: Params, cache: unknown, gradU: Matrix64, gradV: Matrix64): RowGradients;
  /**
   * In-place SGD step on the touched rows only: params[k][index[r]] −= lr · grads[k][r] (summed over
   * repeats), then the model's projection of those rows (projected free embeddings: renormalise).
   * Exactly `project(applyUpdates(params, sgd(lr)(scatter(rows))))` restricted to the touched rows;
   * valid for plain SGD only (momentum, weight decay and Adam touch every row).
   */
  applyRowUpdate?(params: Params, rows: RowGradients, lr: number): void;
  /**
   * The constraint projection applied after each (dense) parameter step, if any: projected free
   * embeddings renormalise their rows. Returns new matrices.
   */
  project?(params: Params): Params;
  /**
   * The stationarity measure of parameter gradients: the norm of the Riemannian (tangent) gradient
   * for projected free embeddings, the Frobenius norm over all keys otherwise.
   */
  gradNorm(params: Params, grads: Params): number;
}
