/**
 * Seeded synthetic data for the shared-encoder setting (THEORY 5, "Parametrisations").
 *
 * Generator (all draws through one `Rng`, split into independent children in a fixed order):
 *   centres   c_k = normalize(ζ_k),  ζ_k ~ N(0, I_p),                       k = 0..K−1
 *   labels    y = balanced (⌊N/K⌋ or ⌈N/K⌉ of each class, class k gets i ≡ k mod K) then shuffled
 *   inputs    x_i = normalize(c_{y_i} + (σ/√p)·ξ_i),  ξ_i ~ N(0, I_p)      (‖(σ/√p)ξ‖ ≈ σ)
 * The held-out set is drawn the same way (same centres, its own labels and noise).
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
import { DomainError } from '../core/errors.ts';
import { gatherRows, type Matrix64, zeros } from '../core/matrix.ts';
import { Rng, type RngState } from '../core/random.ts';
import { assertNonNegative, assertPositiveInt } from '../core/validate.ts';

/** Augmentation spec: `noise` is the norm scale s of the additive noise, `mask` the drop probability q ∈ [0, 1). */
export interface AugmentSpec {
  readonly noise: number;
  readonly mask: number;
}

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

export interface SyntheticDataset {
  readonly spec: SyntheticSpec;
  readonly n: number;
  readonly p: number;
  readonly classes: number;
  readonly augment: AugmentSpec;
  /** K x p unit centres. */
  readonly centres: Matrix64;
  /** N x p clean training inputs (unit rows) and their classes. */
  readonly X: Matrix64;
  readonly y: Int32Array;
  /** Held-out inputs and classes. */
  readonly Xtest: Matrix64;
  readonly ytest: Int32Array;
  /** Generator state from which `evalViews` draws the fixed views. */
  readonly evalViewState: RngState;
}

function validateAugment(op: string, a: AugmentSpec): void {
  assertNonNegative(op, 'augment.noise', a?.noise);
  if (!Number.isFinite(a.mask) || a.mask < 0 || a.mask >= 1) throw new DomainError(op, `augment.mask must be in [0, 1), got ${a.mask}`);
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
  validateAugment(op, augment);
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
    spec, n: spec.n, p, classes: K, augment, centres, X, y, Xtest, ytest, evalViewState: rv.state(),
  };
}

/**
 * One random view of every row of X (B x p): x̃ = m ⊙ (x + (s/√p)·η), m_j ~ Bernoulli(1 − q).
 * Returns a new contiguous B x p matrix; X is not modified.
 */
export function augment(X: Matrix64, rng: Rng, spec: AugmentSpec): Matrix64 {
  validateAugment('augment', spec);
  const { rows: B, cols: p } = X;
  const out = zeros(B, p);
  const s = spec.noise / Math.sqrt(p);
  const q = spec.mask;
  for (let i = 0; i < B; i++) {
    const src = X.offset + i * X.rowStride;
    const o = i * p;
    for (let j = 0; j < p; j++) out.data[o + j] = X.data[src + j * X.colStride]!;
    if (s > 0) for (let j = 0; j < p; j++) out.data[o + j]! += s * rng.normal();
    if (q > 0) for (let j = 0; j < p; j++) if (rng.uniform() < q) out.data[o + j] = 0;
  }
  return out;
}

/**
 * Two independent views of the examples `index` of X: all first views are drawn, then all second
 * views, from `rng`. Each is B x p.
 */
export function twoViews(X: Matrix64, index: ArrayLike<number>, rng: Rng, spec: AugmentSpec): { X1: Matrix64; X2: Matrix64 } {
  const rows = gatherRows(X, index, 'f64') as Matrix64;
  const X1 = augment(rows, rng, spec);
  const X2 = augment(rows, rng, spec);
  return { X1, X2 };
}

const evalViewCache = new WeakMap<SyntheticDataset, { X1: Matrix64; X2: Matrix64 }>();

/**
 * The fixed pair of views of every training example on which the exact objective F is evaluated:
 * `twoViews(X, 0..N−1, Rng.fromState(evalViewState), augment)`, memoised per data set. Callers
 * must not modify the returned matrices.
 */
export function evalViews(data: SyntheticDataset): { X1: Matrix64; X2: Matrix64 } {
  let v = evalViewCache.get(data);
  if (!v) {
    const all = new Int32Array(data.n);
    for (let i = 0; i < data.n; i++) all[i] = i;
    v = twoViews(data.X, all, Rng.fromState(data.evalViewState), data.augment);
    evalViewCache.set(data, v);
  }
  return v;
}
