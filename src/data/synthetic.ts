/**
 * Seeded synthetic data for the shared-encoder setting (THEORY 5, "Parametrisations").
 *
 * Generator (all draws through one `Rng`, split into independent children in a fixed order):
 *   centres   c_k = normalize(ζ_k),  ζ_k ~ N(0, I_p),                       k = 0..K−1
 *   labels    y = balanced (⌊N/K⌋ or ⌈N/K⌉ of each class, class k gets i ≡ k mod K) then shuffled
 *   inputs    x_i = normalize(c_{y_i} + (σ/√p)·ξ_i),  ξ_i ~ N(0, I_p)      (‖(σ/√p)ξ‖ ≈ σ)
 * The held-out set is drawn the same way (same centres, its own labels and noise).
 *
 * This is one of the Dataset kinds of ./dataset.ts (which defines `augment`, `twoViews` and
 * `evalViews`, re-exported here); MNIST (./mnist.ts) and user arrays (./npyData.ts) are the others.
 *
 * Augmentation, a random "view" of x (spec `{ noise: s, mask: q }`):
 *   x̃ = m ⊙ (x + (s/√p)·η),  η ~ N(0, I_p),  m_j ~ Bernoulli(1 − q) independently
 * so every coordinate is exactly 0 with probability q, and an unmasked coordinate differs from x_j
 * by a N(0, s²/p) variate (E‖x̃ − x‖² over the kept coordinates is (1−q)·s²). Rows are not
 * re-normalised (the encoder normalises its output). Draw order per row: p normals (when s > 0),
 * then p uniforms (when q > 0). Two independent views per example per visit: `twoViews`.
 *
 * Fixed views for the exact objective: `evalViews(data)` regenerates, from a generator state kept in
 * the data set, one pair of views of every training example (the same augmentation spec), so the
 * exact objective F evaluated on them is a deterministic function of the parameters. They are
 * computed on first use and memoised per data set (2·N·p float64s).
 *
 * @example
 *   const data = syntheticDataset({ n: 1000, nTest: 500, p: 32, classes: 10, sigma: 0.5 }, Rng.fromSeed(1));
 *   const { X1, X2 } = twoViews(data.X, Int32Array.of(0, 1, 2), Rng.fromSeed(2), data.augment);
 */
import { type Matrix64, zeros } from '../core/matrix.ts';
import type { Rng } from '../core/random.ts';
import { assertNonNegative, assertPositiveInt } from '../core/validate.ts';
import { type AugmentSpec, type Dataset, validateVectorAugment } from './dataset.ts';

export { augment, evalViews, twoViews, type AugmentSpec } from './dataset.ts';

export const DEFAULT_AUGMENT: AugmentSpec = { noise: 0.2, mask: 0.2 };

export interface SyntheticSpec {
  /** Training examples N. */
  readonly n: number;
  /** Held-out examples. */
  readonly nTest: number;
  /** Input dimension p. */
  readonly p: number;
  /** Latent classes K. */
  readonly classes: number;
  /** Within-class noise scale σ (the noise vector's norm is about σ; centres have norm 1). */
  readonly sigma: number;
  /** Augmentation used for training views and the fixed evaluation views (default DEFAULT_AUGMENT). */
  readonly augment?: AugmentSpec;
}

/** The synthetic Dataset: always labelled, with its class centres. */
export interface SyntheticDataset extends Dataset {
  readonly kind: 'synthetic-classes';
  readonly spec: SyntheticSpec;
  readonly augment: AugmentSpec;
  /** K x p unit centres. */
  readonly centres: Matrix64;
  /** N x p clean training inputs (unit rows) and their classes. */
  readonly y: Int32Array;
  /** Held-out classes. */
  readonly ytest: Int32Array;
}

/** Balanced labels (class k for i ≡ k mod K), shuffled by `rng`. */
function balancedLabels(n: number, K: number, rng: Rng): Int32Array {
  const perm = rng.permutation(n);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) y[perm[i]!] = i % K;
  return y;
}

/** x_i = normalize(c_{y_i} + (σ/√p) ξ_i), drawn row by row. */
function drawInputs(centres: Matrix64, y: Int32Array, sigma: number, rng: Rng): Matrix64 {
  const p = centres.cols;
  const X = zeros(y.length, p);
  const s = sigma / Math.sqrt(p);
  for (let i = 0; i < y.length; i++) {
    const c = y[i]! * p;
    const o = i * p;
    let ss = 0;
    for (let j = 0; j < p; j++) {
      const v = centres.data[c + j]! + s * rng.normal();
      X.data[o + j] = v;
      ss += v * v;
    }
    // A zero row has probability 0; fall back to the centre so the row stays defined.
    if (!(ss > 0)) {
      for (let j = 0; j < p; j++) X.data[o + j] = centres.data[c + j]!;
      continue;
    }
    const inv = 1 / Math.sqrt(ss);
    for (let j = 0; j < p; j++) X.data[o + j]! *= inv;
  }
  return X;
}

/**
 * The synthetic data set of the module comment, deterministic per generator state. `rng` is split
 * into four children (centres, training set, held-out set, evaluation views) in that order.
 */
export function syntheticDataset(spec: SyntheticSpec, rng: Rng): SyntheticDataset {
  const op = 'syntheticDataset';
  assertPositiveInt(op, 'n', spec.n);
  assertPositiveInt(op, 'nTest', spec.nTest, 0);
  assertPositiveInt(op, 'p', spec.p);
  assertPositiveInt(op, 'classes', spec.classes);
  assertNonNegative(op, 'sigma', spec.sigma);
  const augment = spec.augment ?? DEFAULT_AUGMENT;
  validateVectorAugment(op, augment);
  const [rc, rt, rh, rv] = rng.splitN(4) as [Rng, Rng, Rng, Rng];
  const { p, classes: K } = spec;
  const centres = zeros(K, p);
  for (let k = 0; k < K; k++) {
    let ss = 0;
    // Redraw in the (probability-0) event of a zero vector.
    do {
      ss = 0;
      for (let j = 0; j < p; j++) {
        const v = rc.normal();
        centres.data[k * p + j] = v;
        ss += v * v;
      }
    } while (!(ss > 0));
    const inv = 1 / Math.sqrt(ss);
    for (let j = 0; j < p; j++) centres.data[k * p + j]! *= inv;
  }
  const y = balancedLabels(spec.n, K, rt);
  const X = drawInputs(centres, y, spec.sigma, rt);
  const ytest = balancedLabels(spec.nTest, K, rh);
  const Xtest = drawInputs(centres, ytest, spec.sigma, rh);
  return {
    kind: 'synthetic-classes', spec, n: spec.n, p, classes: K, augment, centres, X, y, Xtest, ytest, evalViewState: rv.state(),
  };
}
