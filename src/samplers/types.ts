/**
 * Batch samplers (THEORY 4, CHO). A sampler decides which rows each update step uses. It is a pair
 * of pure functions over an explicit, JSON-serialisable state (checkpointable):
 *
 *   init(n, rng)              -> state
 *   next(ctx, state)          -> { batches, state }   the batches of ONE update step
 *
 * One update step takes one gradient step on the average of L(U_b, V_b) over the returned batches
 * (usually one batch of B rows; `full` returns the single batch 0..N-1; `ncb` returns all C(N,B)
 * as a lazy sequence: enumerated on demand, never stored). Every batch has at least 2 rows: a
 * batch of one has no negatives.
 * Every random draw goes through `ctx.rng` (a generator split off for this step by the runner), so
 * a run is a pure function of its seed.
 *
 * Uneven N/B (the documented rule for every epoch-based sampler): an epoch is cut into ⌈N/B⌉
 * batches of exactly B rows; when B does not divide N, the last batch holds the r = N mod B leftover
 * rows plus the first B − r rows of the same epoch's order (so every row is used at least once per
 * epoch and every batch has B distinct rows).
 */
import type { Backend } from '../backend/types.ts';
import type { Matrix, Matrix64 } from '../core/matrix.ts';
import type { Rng } from '../core/random.ts';

/** The loss a sampler scores a batch with (OSGD variants): L(U_b, V_b) on the rows `rows`. */
export type BatchScorer = (U: Matrix, V: Matrix, rows: ArrayLike<number>, tau: number, backend?: Backend) => number;

export interface SamplerContext {
  /**
   * Number of rows N. Samplers that do not look at the embeddings check it instead of U.rows, so a
   * training loop may compute U and V lazily (getters), only for the samplers that read them.
   */
  readonly n?: number;
  /** Current embeddings (unit rows, float64), N x d. */
  readonly U: Matrix64;
  readonly V: Matrix64;
  /** Temperature of the loss used to score batches (OSGD, spectral). */
  readonly tau: number;
  /**
   * The batch loss OSGD scores with: the loss of the objective being trained (default `batchLoss`,
   * the two-sided InfoNCE of THEORY 2.1, CHO's mini-batch objective).
   */
  readonly score?: BatchScorer;
  readonly backend: Backend;
  /** This step's generator. */
  readonly rng: Rng;
  /** 0-based index of the update step about to be taken. */
  readonly step: number;
}

/** JSON-serialisable sampler state (numbers, strings, booleans, arrays and plain objects only). */
export type SamplerState = unknown;

/**
 * The batches of one step: an array, or (ncb) a lazy sequence of C(N,B) batches. Iterate it or use
 * `at(i)`; each batch returned is a fresh array.
 */
export interface BatchSequence extends Iterable<Int32Array> {
  readonly length: number;
  at(i: number): Int32Array | undefined;
}

export interface SamplerStep<S> {
  /** The batches of this update step; each holds distinct row indices in 0..N-1. */
  readonly batches: BatchSequence;
  readonly state: S;
  /** True when this step completes an epoch (the runner counts epochs with it). */
  readonly epochEnd: boolean;
}

export interface Sampler<S = SamplerState> {
  /** Registry name, e.g. 'reshuffle', 'osgd', 'spectral'. */
  readonly name: string;
  /** Batch size B (N for `full`). */
  readonly B: number;
  /** Update steps per epoch at N rows (e.g. ⌈N/B⌉ for reshuffling, 1 for full batch and NcB). */
  stepsPerEpoch(n: number): number;
  init(n: number, rng: Rng): S;
  next(ctx: SamplerContext, state: S): SamplerStep<S>;
  /**
   * Throws DomainError naming the field unless `state` is one this sampler can produce (a state read
   * from a checkpoint is checked with it before use).
   */
  checkState(state: unknown): void;
}

/** A sampler as data (experiment specs, CLI). */
export type SamplerSpec =
  | { readonly kind: 'with-replacement'; readonly B: number }
  | { readonly kind: 'reshuffle'; readonly B: number }
  | { readonly kind: 'fixed'; readonly B: number }
  | { readonly kind: 'full' }
  | { readonly kind: 'ncb'; readonly B: number; readonly maxBatches?: number }
  | { readonly kind: 'osgd'; readonly B: number; readonly maxBatches?: number }
  | { readonly kind: 'osgd-without-replacement'; readonly B: number; readonly maxBatches?: number }
  | { readonly kind: 'approx-osgd'; readonly B: number; readonly k: number; readonly q: number }
  | { readonly kind: 'spectral'; readonly B: number; readonly groupSize?: number; readonly solver?: 'dense' | 'lanczos' | 'auto' };
