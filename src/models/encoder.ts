/**
 * Shared-encoder models (SogCLR's setting, unimodal): one weight set f_θ serves every example,
 *   u_i = normalize(f_θ(x̃_i¹)),  v_i = normalize(f_θ(x̃_i²)),   x̃¹, x̃² two independent augmented views
 * (any Dataset of src/data/dataset.ts: synthetic-classes, mnist, npy). Backward: through the row normalisation, ∂/∂z = (g − (g·u)u)/‖z‖, then
 * through the network; the two views' parameter gradients add.
 *
 *   linearEncoder(data, d)      f(x) = W x                       params { W: d x p }
 *   mlpEncoder(data, h, d)      f(x) = W2 relu(W1 x + b1)        params { W1: h x p, b1: 1 x h, W2: d x h }
 *
 * Normalisation as PyTorch's F.normalize (SogCLR's code): u = z / max(‖z‖, ε), ε = NORMALIZE_EPS, so
 * an encoder output that is exactly zero (every ReLU unit dead, or a fully masked input to the
 * linear map) gives the zero embedding instead of an error, and its backward is taken as zero (see
 * normalizeBackward in ./common.ts). Every other row is a unit vector.
 *
 * Fixed views for the exact objective F (`embedAll`): by default ('fixed') the pair of views
 * `evalViews(data)`, drawn once from a generator state stored in the data set, so F is a deterministic
 * function of θ and is the objective the stochastic runs estimate, with the augmentation drawn once;
 * 'clean' embeds the clean inputs for both views (then u_i = v_i).
 *
 * @example
 *   const data = syntheticDataset({ n: 512, nTest: 256, p: 32, classes: 8, sigma: 0.4 }, Rng.fromSeed(1));
 *   const model = linearEncoder(data, 16);
 *   const params = model.init(Rng.fromSeed(2));
 *   const { U, V, cache } = model.forward(params, Int32Array.of(0, 5, 9), Rng.fromSeed(3), backend);
 *   const grads = model.backward(params, cache, gradU, gradV);   // { W: 16 x 32 }
 */
import type { Backend } from '../backend/types.ts';
import { ConfigError, ShapeError } from '../core/errors.ts';
import { gatherRows, type Matrix64, rowRange, shapeStr, toContiguous, zeros } from '../core/matrix.ts';
import type { Rng } from '../core/random.ts';
import { assertPositiveInt } from '../core/validate.ts';
import { type Dataset, evalViews, twoViews } from '../data/dataset.ts';
import type { Params } from '../optim/types.ts';
import { assertIndex, assertParams, matmulAB, matmulABt, matmulAtB, normalizeBackward, normalizeWithNorms, paramsNorm } from './common.ts';
import type { Model, ModelOutput } from './types.ts';

export type EvalViews = 'fixed' | 'clean';

/** ε of the clamped normalisation u = z / max(‖z‖, ε) (PyTorch's F.normalize default). */
export const NORMALIZE_EPS = 1e-12;

export interface EncoderOptions {
  /** Views of the exact objective (`embedAll`): 'fixed' (default) or 'clean'. */
  readonly evalViews?: EvalViews;
  /**
   * Views seen in training (`forward`): 'fresh' (default) draws two new augmentations per example per
   * visit; 'fixed' uses the same fixed views as `embedAll`, so training minimises exactly the F that
   * is logged (no augmentation residual) and only the estimator's error separates the methods.
   */
  readonly trainViews?: 'fresh' | 'fixed';
}

/** A network z = f_θ(x) on rows: apply and its backward (parameter gradients, accumulated over calls). */
interface Net {
  readonly name: string;
  /**
   * Training forward and backward on the two views stacked, [X̃¹; X̃²] (2B x p), in one pass: one
   * GEMM per layer instead of two (the weights are packed once, and the weight gradient is one sum
   * over 2B rows instead of two accumulated sums of B). The MLP does; the linear encoder keeps two
   * passes, so its numbers are those of the golden fixtures.
   */
  readonly stackViews?: boolean;
  readonly shapes: Record<string, [number, number]>;
  init(rng: Rng): Params;
  apply(params: Params, X: Matrix64, be: Backend): { Z: Matrix64; cache: unknown };
  /** Adds ∂/∂θ of Σ gZ·Z into `acc` (fresh zero matrices on the first call). */
  backward(params: Params, cache: unknown, gZ: Matrix64, be: Backend, acc: Record<string, Matrix64>, first: boolean): void;
}

interface EncoderCache {
  readonly kind: string;
  readonly backend: Backend;
  readonly rows: number;
  readonly U: Matrix64;
  readonly V: Matrix64;
  readonly normsU: Float64Array;
  readonly normsV: Float64Array;
  readonly clampedU: Uint8Array | null;
  readonly clampedV: Uint8Array | null;
  readonly netU: unknown;
  readonly netV: unknown;
  /** The stacked pass's cache (netU = netV = null then). */
  readonly netUV: unknown;
}

function encoderModel(data: Dataset, d: number, net: Net, opts: EncoderOptions): Model {
  const op = net.name;
  const views: EvalViews = opts.evalViews ?? 'fixed';
  if (views !== 'fixed' && views !== 'clean') throw new ConfigError(op, `evalViews must be 'fixed' or 'clean', got ${String(views)}`);
  const kind = `encoder:${net.name}`;

  const embedPair = (params: Params, X1: Matrix64, X2: Matrix64, be: Backend, o: string, stack = false): ModelOutput => {
    const B = X1.rows;
    let ZU: Matrix64;
    let ZV: Matrix64;
    let nets: { netU: unknown; netV: unknown; netUV: unknown };
    if (stack) {
      const ab = net.apply(params, vstack(X1, X2), be);
      ZU = rowRange(ab.Z, 0, B);
      ZV = rowRange(ab.Z, B, B);
      nets = { netU: null, netV: null, netUV: ab.cache };
    } else {
      const a = net.apply(params, X1, be);
      const b = net.apply(params, X2, be);
      ZU = a.Z;
      ZV = b.Z;
      nets = { netU: a.cache, netV: b.cache, netUV: null };
    }
    const u = normalizeWithNorms(ZU, o, 'U', NORMALIZE_EPS);
    const v = normalizeWithNorms(ZV, o, 'V', NORMALIZE_EPS);
    const cache: EncoderCache = {
      kind, backend: be, rows: B, U: u.U, V: v.U, normsU: u.norms, normsV: v.norms, clampedU: u.clamped, clampedV: v.clamped, ...nets,
    };
    return { U: u.U, V: v.U, cache };
  };

  return {
    name: net.name,
    modality: 'unimodal',
    n: data.n,
    d,
    init: (rng) => net.init(rng),

    forward(params, index, rng, backend) {
      const o = `${op}.forward`;
      assertParams(o, params, net.shapes);
      assertIndex(o, index, data.n);
      if (opts.trainViews === 'fixed') {
        const all = views === 'clean' ? { X1: data.X, X2: data.X } : evalViews(data);
        return embedPair(params, gatherRows(all.X1, index) as Matrix64, gatherRows(all.X2, index) as Matrix64, backend, o, net.stackViews === true);
      }
      const { X1, X2 } = twoViews(data.X, index, rng, data.augment);
      return embedPair(params, X1, X2, backend, o, net.stackViews === true);
    },

    backward(params, cache, gradU, gradV) {
      const o = `${op}.backward`;
      assertParams(o, params, net.shapes);
      const c = cache as EncoderCache;
      if (!c || c.kind !== kind) throw new ConfigError(o, `the cache is not from this model's forward / embedAll (${kind})`);
      for (const [name, g] of [['gradU', gradU], ['gradV', gradV]] as const) {
        if (g.rows !== c.rows || g.cols !== d) throw new ShapeError(o, `${name} is ${shapeStr(g)} but the forward embedded ${c.rows}x${d}`);
      }
      const acc: Record<string, Matrix64> = {};
      const gU = normalizeBackward(c.U, c.normsU, gradU, o, c.clampedU);
      const gV = normalizeBackward(c.V, c.normsV, gradV, o, c.clampedV);
      if (c.netUV !== null) {
        net.backward(params, c.netUV, vstack(gU, gV), c.backend, acc, true);
      } else {
        net.backward(params, c.netU, gU, c.backend, acc, true);
        net.backward(params, c.netV, gV, c.backend, acc, false);
      }
      return acc;
    },

    embedAll(params, backend) {
      const o = `${op}.embedAll`;
      assertParams(o, params, net.shapes);
      if (views === 'clean') return embedPair(params, data.X, data.X, backend, o);
      const { X1, X2 } = evalViews(data);
      return embedPair(params, X1, X2, backend, o);
    },

    embedInputs(params, X, backend) {
      const o = `${op}.embedInputs`;
      assertParams(o, params, net.shapes);
      if (X.cols !== data.p) throw new ShapeError(o, `X is ${shapeStr(X)} but the encoder takes inputs of dimension ${data.p}`);
      return normalizeWithNorms(net.apply(params, X, backend).Z, o, 'embedding', NORMALIZE_EPS).U;
    },

    gradNorm(params, grads) {
      assertParams(`${op}.gradNorm`, grads, net.shapes);
      return paramsNorm(grads);
    },
  };
}

/** [A; B] as a new contiguous float64 matrix (A and B contiguous, the same width). */
function vstack(A: Matrix64, B: Matrix64): Matrix64 {
  const out = zeros(A.rows + B.rows, A.cols);
  out.data.set(toContiguous(A, 'f64').data, 0);
  out.data.set(toContiguous(B, 'f64').data, A.rows * A.cols);
  return out;
}

function gaussianMatrix(rng: Rng, rows: number, cols: number, scale: number): Matrix64 {
  const m = zeros(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = scale * rng.normal();
  return m;
}

/**
 * Linear encoder u = normalize(W x), W ∈ R^{d x p}, initialised W_kj ~ N(0, 1/p).
 * Backward: ∂F/∂W = Σ_views gZᵀ X̃ with gZ the gradient through the normalisation.
 */
export function linearEncoder(data: Dataset, d: number, opts: EncoderOptions = {}): Model {
  const op = 'linearEncoder';
  assertPositiveInt(op, 'd', d);
  const p = data.p;
  const net: Net = {
    name: op,
    shapes: { W: [d, p] },
    init: (rng) => ({ W: gaussianMatrix(rng, d, p, 1 / Math.sqrt(p)) }),
    apply: (params, X, be) => ({ Z: matmulABt(be, X, params.W!), cache: X }),
    backward(_params, cache, gZ, be, acc, first) {
      const X = cache as Matrix64;
      if (first) acc.W = matmulAtB(be, gZ, X);
      else matmulAtB(be, gZ, X, 1, acc.W!);
    },
  };
  return encoderModel(data, d, net, opts);
}

/**
 * One-hidden-layer ReLU encoder u = normalize(W2 relu(W1 x + b1)), W1 ∈ R^{h x p}, b1 ∈ R^{1 x h},
 * W2 ∈ R^{d x h}; He initialisation W1 ~ N(0, 2/p), b1 = 0, W2 ~ N(0, 1/h).
 * Backward: gW2 = gZᵀ H, gA = (gZ W2) ⊙ 1[A > 0], gW1 = gAᵀ X, gb1 = 1ᵀ gA (A = X W1ᵀ + b1, H = relu(A)).
 * At A = 0 exactly the derivative is taken as 0.
 */
export function mlpEncoder(data: Dataset, h: number, d: number, opts: EncoderOptions = {}): Model {
  const op = 'mlpEncoder';
  assertPositiveInt(op, 'h', h);
  assertPositiveInt(op, 'd', d);
  const p = data.p;
  interface MlpCache { X: Matrix64; A: Matrix64; H: Matrix64 }
  const net: Net = {
    name: op,
    stackViews: true,
    shapes: { W1: [h, p], b1: [1, h], W2: [d, h] },
    init: (rng) => ({ W1: gaussianMatrix(rng, h, p, Math.sqrt(2 / p)), b1: zeros(1, h), W2: gaussianMatrix(rng, d, h, 1 / Math.sqrt(h)) }),
    apply(params, X, be) {
      const A = matmulABt(be, X, params.W1!);
      const b = params.b1!;
      const bias = new Float64Array(h);
      for (let j = 0; j < h; j++) bias[j] = b.data[b.offset + j * b.colStride]!;
      const H = zeros(A.rows, h);
      const ad = A.data as Float64Array;
      const hd = H.data as Float64Array;
      for (let i = 0; i < A.rows; i++) {
        const o = i * h;
        for (let j = 0; j < h; j++) {
          const a = ad[o + j]! + bias[j]!;
          ad[o + j] = a;
          hd[o + j] = a > 0 ? a : 0;
        }
      }
      const cache: MlpCache = { X, A, H };
      return { Z: matmulABt(be, H, params.W2!), cache };
    },
    backward(params, cache, gZ, be, acc, first) {
      const { X, A, H } = cache as MlpCache;
      const gA = matmulAB(be, gZ, params.W2!);
      const gd = gA.data as Float64Array;
      const ad = A.data as Float64Array;
      for (let i = 0; i < gd.length; i++) if (!(ad[i]! > 0)) gd[i] = 0;
      if (first) {
        acc.W1 = matmulAtB(be, gA, X);
        acc.b1 = zeros(1, h);
        acc.W2 = matmulAtB(be, gZ, H);
      } else {
        matmulAtB(be, gA, X, 1, acc.W1!);
        matmulAtB(be, gZ, H, 1, acc.W2!);
      }
      const gb = acc.b1!.data as Float64Array;
      for (let i = 0; i < gA.rows; i++) for (let j = 0; j < h; j++) gb[j]! += gd[i * h + j]!;
    },
  };
  return encoderModel(data, d, net, opts);
}
