/**
 * Downstream metrics of learned embeddings on an encoder's data set (any Dataset, src/data/dataset.ts;
 * k-NN and the probe need its labels, R@1 does not).
 * All are deterministic functions of their inputs (and of a seed where views are drawn); every
 * similarity is the cosine, computed as a product of row-normalised matrices through the backend's
 * float64 gemm in blocks of query rows (memory O((N_ref + N_query)·d) plus a 32 MiB block).
 *
 *   k-NN accuracy        query x is assigned the majority class among its k most cosine-similar
 *                        reference rows; ties in the vote go to the class with the larger summed
 *                        similarity, then to the smaller class; equal similarities rank the smaller
 *                        reference index first.
 *   linear probe         ridge regression onto one-hot labels with a bias:
 *                          [W; b] = argmin ‖X W + 1 b − Y‖² + λ‖W‖²,   λ = ridge · N_train
 *                        (bias unpenalised), solved by Cholesky (ml-matrix) on the (d+1) x (d+1)
 *                        normal equations; prediction argmax_k (x W + b)_k, ties to the smaller class.
 *   two-view R@1         for each i, a hit when cos(a_i, b_i) > cos(a_i, b_j) for every j ≠ i (ties are
 *                        misses, so collapsed embeddings score 0): the fraction of hits.
 *
 * @example
 *   const acc = knnAccuracy(trainEmb, data.y, testEmb, data.ytest, { k: 5 });
 */
import { CholeskyDecomposition, Matrix as MlMatrix, solve } from 'ml-matrix';
import { defaultBackend } from '../backend/index.ts';
import type { Backend } from '../backend/types.ts';
import { ConfigError, DomainError, ShapeError } from '../core/errors.ts';
import { block, type Matrix64, shapeStr, transpose, zeros } from '../core/matrix.ts';
import { Rng } from '../core/random.ts';
import { assertNonNegative, assertPositiveInt } from '../core/validate.ts';
import { augmentView, type Dataset } from '../data/dataset.ts';
import type { Model } from '../models/types.ts';
import type { Params } from '../optim/types.ts';

/** Query rows per similarity block: at most 512, and at most SIM_BLOCK_ELEMS / N_ref (32 MiB of float64s). */
const QUERY_BLOCK = 512;
const SIM_BLOCK_ELEMS = 1 << 22;

function f64(be: Backend | undefined): Backend {
  return be && be.dtype === 'f64' ? be : defaultBackend();
}

/** Row-normalised contiguous copy; a zero row stays zero (cosine 0 against everything). */
function unitCopy(X: Matrix64): Matrix64 {
  const out = zeros(X.rows, X.cols);
  for (let i = 0; i < X.rows; i++) {
    const b = X.offset + i * X.rowStride;
    let s = 0;
    for (let j = 0; j < X.cols; j++) {
      const x = X.data[b + j * X.colStride]!;
      s += x * x;
    }
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < X.cols; j++) out.data[i * X.cols + j] = X.data[b + j * X.colStride]! * inv;
  }
  return out;
}

function assertFiniteAll(op: string, name: string, X: Matrix64): void {
  for (let i = 0; i < X.rows; i++) {
    const b = X.offset + i * X.rowStride;
    for (let j = 0; j < X.cols; j++) {
      if (!Number.isFinite(X.data[b + j * X.colStride]!)) throw new DomainError(op, `${name}[${i},${j}] is ${X.data[b + j * X.colStride]}; embeddings must be finite`);
    }
  }
}

function checkLabels(op: string, name: string, y: Int32Array, rows: number, classes: number): void {
  if (y.length !== rows) throw new ShapeError(op, `${name} has ${y.length} labels for ${rows} rows`);
  for (let i = 0; i < y.length; i++) {
    if (y[i]! < 0 || y[i]! >= classes) throw new DomainError(op, `${name}[${i}] = ${y[i]} is outside 0..${classes - 1}`);
  }
}

function numClasses(...ys: Int32Array[]): number {
  let m = -1;
  for (const y of ys) for (let i = 0; i < y.length; i++) m = Math.max(m, y[i]!);
  return m + 1;
}

/** Calls `f(q0, S)` with S = Q[q0:q0+nq] Rᵀ (nq x N_ref) for consecutive blocks of unit query rows. */
function similarityBlocks(be: Backend, Q: Matrix64, R: Matrix64, f: (q0: number, S: Matrix64) => void): void {
  const k = f64(be).kernels;
  const Rt = transpose(R);
  const step = Math.max(1, Math.min(QUERY_BLOCK, Math.floor(SIM_BLOCK_ELEMS / Math.max(1, R.rows))));
  for (let q0 = 0; q0 < Q.rows; q0 += step) {
    const nq = Math.min(step, Q.rows - q0);
    const S = zeros(nq, R.rows);
    k.gemm(1, block(Q, q0, 0, nq, Q.cols), Rt, 0, S);
    f(q0, S);
  }
}

export interface KnnOptions {
  /** Neighbours (default 5; capped at the number of reference rows). */
  readonly k?: number;
  /** Number of classes (default: 1 + the largest label seen). */
  readonly classes?: number;
  readonly backend?: Backend;
}

/** k-NN (cosine) accuracy of `query` against the labelled reference set (see the module comment). */
export function knnAccuracy(ref: Matrix64, refLabels: Int32Array, query: Matrix64, queryLabels: Int32Array, opts: KnnOptions = {}): number {
  const op = 'knnAccuracy';
  if (ref.cols !== query.cols) throw new ShapeError(op, `reference is ${shapeStr(ref)} but query is ${shapeStr(query)}`);
  if (ref.rows < 1) throw new ShapeError(op, 'the reference set is empty');
  if (query.rows < 1) throw new ShapeError(op, 'the query set is empty');
  assertFiniteAll(op, 'ref', ref);
  assertFiniteAll(op, 'query', query);
  const K = opts.classes ?? numClasses(refLabels, queryLabels);
  checkLabels(op, 'refLabels', refLabels, ref.rows, K);
  checkLabels(op, 'queryLabels', queryLabels, query.rows, K);
  const k0 = opts.k ?? 5;
  assertPositiveInt(op, 'k', k0);
  const k = Math.min(k0, ref.rows);
  const R = unitCopy(ref);
  const Q = unitCopy(query);
  const n = R.rows;
  const topS = new Float64Array(k);
  const topI = new Int32Array(k);
  const votes = new Int32Array(K);
  const sums = new Float64Array(K);
  let correct = 0;
  similarityBlocks(f64(opts.backend), Q, R, (q0, S) => {
    for (let r = 0; r < S.rows; r++) {
      // Top k by (similarity desc, index asc), kept sorted by insertion.
      let filled = 0;
      const base = r * n;
      for (let j = 0; j < n; j++) {
        const s = S.data[base + j]!;
        if (filled === k && !(s > topS[k - 1]!)) continue;
        let pos = filled < k ? filled : k - 1;
        while (pos > 0 && s > topS[pos - 1]!) {
          topS[pos] = topS[pos - 1]!;
          topI[pos] = topI[pos - 1]!;
          pos--;
        }
        topS[pos] = s;
        topI[pos] = j;
        if (filled < k) filled++;
      }
      votes.fill(0);
      sums.fill(0);
      for (let t = 0; t < k; t++) {
        const c = refLabels[topI[t]!]!;
        votes[c]!++;
        sums[c]! += topS[t]!;
      }
      let best = 0;
      for (let c = 1; c < K; c++) {
        if (votes[c]! > votes[best]! || (votes[c] === votes[best] && sums[c]! > sums[best]!)) best = c;
      }
      if (best === queryLabels[q0 + r]) correct++;
    }
  });
  return correct / query.rows;
}

export interface LinearProbeOptions {
  /** Per-example ridge: λ = ridge · N_train (default 1e-3). */
  readonly ridge?: number;
  readonly classes?: number;
  readonly backend?: Backend;
}

/** The probe's weights: class scores are x W + b. */
export interface LinearProbe {
  /** d x K. */
  readonly W: Matrix64;
  /** length K. */
  readonly b: Float64Array;
}

/** Fits the ridge probe of the module comment on (X, y). */
export function fitLinearProbe(X: Matrix64, y: Int32Array, opts: LinearProbeOptions = {}): LinearProbe {
  const op = 'fitLinearProbe';
  if (X.rows < 1 || X.cols < 1) throw new ShapeError(op, `training embeddings are ${shapeStr(X)}; need at least one row and column`);
  assertFiniteAll(op, 'X', X);
  const K = opts.classes ?? numClasses(y);
  checkLabels(op, 'y', y, X.rows, K);
  const ridge = opts.ridge ?? 1e-3;
  assertNonNegative(op, 'ridge', ridge);
  const n = X.rows;
  const d = X.cols;
  // Design matrix [X, 1] (n x (d+1)) and one-hot targets (n x K).
  const Xa = zeros(n, d + 1);
  const Y = zeros(n, K);
  for (let i = 0; i < n; i++) {
    const b = X.offset + i * X.rowStride;
    for (let j = 0; j < d; j++) Xa.data[i * (d + 1) + j] = X.data[b + j * X.colStride]!;
    Xa.data[i * (d + 1) + d] = 1;
    Y.data[i * K + y[i]!] = 1;
  }
  const gram = zeros(d + 1, d + 1);
  const rhs = zeros(d + 1, K);
  const k = f64(opts.backend).kernels;
  k.gemm(1, transpose(Xa), Xa, 0, gram);
  k.gemm(1, transpose(Xa), Y, 0, rhs);
  const lambda = ridge * n;
  const A = new MlMatrix(d + 1, d + 1);
  for (let i = 0; i <= d; i++) {
    for (let j = 0; j <= d; j++) A.set(i, j, 0.5 * (gram.data[i * (d + 1) + j]! + gram.data[j * (d + 1) + i]!) + (i === j && i < d ? lambda : 0));
  }
  const Bm = new MlMatrix(d + 1, K);
  for (let i = 0; i <= d; i++) for (let c = 0; c < K; c++) Bm.set(i, c, rhs.data[i * K + c]!);
  const chol = new CholeskyDecomposition(A);
  // Not positive definite only when ridge = 0 and [X, 1] is rank deficient: least squares by SVD.
  const sol = chol.isPositiveDefinite() ? chol.solve(Bm) : solve(A, Bm, true);
  const W = zeros(d, K);
  const bias = new Float64Array(K);
  for (let c = 0; c < K; c++) {
    for (let j = 0; j < d; j++) W.data[j * K + c] = sol.get(j, c);
    bias[c] = sol.get(d, c);
  }
  return { W, b: bias };
}

/** argmax_k (x W + b)_k for every row of X, ties to the smaller class. */
export function predictLinearProbe(probe: LinearProbe, X: Matrix64, backend?: Backend): Int32Array {
  const op = 'predictLinearProbe';
  if (X.cols !== probe.W.rows) throw new ShapeError(op, `embeddings are ${shapeStr(X)} but the probe takes ${probe.W.rows} columns`);
  const K = probe.W.cols;
  const scores = zeros(X.rows, K);
  f64(backend).kernels.gemm(1, X, probe.W, 0, scores);
  const out = new Int32Array(X.rows);
  for (let i = 0; i < X.rows; i++) {
    let best = 0;
    let bs = scores.data[i * K]! + probe.b[0]!;
    for (let c = 1; c < K; c++) {
      const s = scores.data[i * K + c]! + probe.b[c]!;
      if (s > bs) {
        bs = s;
        best = c;
      }
    }
    out[i] = best;
  }
  return out;
}

/** Linear-probe accuracy on (testX, testY) of the ridge probe fitted on (trainX, trainY). */
export function linearProbeAccuracy(trainX: Matrix64, trainY: Int32Array, testX: Matrix64, testY: Int32Array, opts: LinearProbeOptions = {}): number {
  const op = 'linearProbeAccuracy';
  if (trainX.cols !== testX.cols) throw new ShapeError(op, `train is ${shapeStr(trainX)} but test is ${shapeStr(testX)}`);
  if (testX.rows < 1) throw new ShapeError(op, 'the test set is empty');
  assertFiniteAll(op, 'testX', testX);
  const K = opts.classes ?? numClasses(trainY, testY);
  checkLabels(op, 'testY', testY, testX.rows, K);
  const probe = fitLinearProbe(trainX, trainY, { ...opts, classes: K });
  const pred = predictLinearProbe(probe, testX, opts.backend);
  let correct = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === testY[i]) correct++;
  return correct / pred.length;
}

/** Two-view retrieval R@1: the fraction of i whose b_i is strictly the most cosine-similar b to a_i. */
export function twoViewRecallAt1(A: Matrix64, B: Matrix64, opts: { backend?: Backend } = {}): number {
  const op = 'twoViewRecallAt1';
  if (A.rows !== B.rows || A.cols !== B.cols) throw new ShapeError(op, `A is ${shapeStr(A)} but B is ${shapeStr(B)}`);
  if (A.rows < 1) throw new ShapeError(op, 'no rows');
  assertFiniteAll(op, 'A', A);
  assertFiniteAll(op, 'B', B);
  const Qa = unitCopy(A);
  const Rb = unitCopy(B);
  const n = A.rows;
  let hits = 0;
  similarityBlocks(f64(opts.backend), Qa, Rb, (q0, S) => {
    for (let r = 0; r < S.rows; r++) {
      const i = q0 + r;
      const base = r * n;
      const own = S.data[base + i]!;
      let hit = true;
      for (let j = 0; j < n; j++) {
        if (j !== i && !(own > S.data[base + j]!)) {
          hit = false;
          break;
        }
      }
      if (hit) hits++;
    }
  });
  return hits / n;
}

export interface DownstreamOptions {
  /** k of the k-NN metric (default 5). */
  readonly k?: number;
  /** Ridge of the linear probe (default 1e-3, see LinearProbeOptions). */
  readonly ridge?: number;
  /** Seed of the held-out views of the R@1 metric (default 0). */
  readonly viewSeed?: number;
}

export interface DownstreamReport {
  /** k-NN accuracy of the held-out embeddings against the clean training embeddings (NaN when not asked for). */
  readonly knn: number;
  /** Ridge linear-probe accuracy (fitted on the clean training embeddings) on the held-out set (NaN when not asked for). */
  readonly probe: number;
  /** Two-view R@1 on the held-out set: two views drawn with data.augment from Rng.fromSeed(viewSeed) (NaN when not asked for). */
  readonly retrieval: number;
  /** Chance levels: 1/K for the accuracies (balanced classes; NaN without labels), 1/N_test for R@1. */
  readonly chance: { readonly accuracy: number; readonly retrieval: number };
}

/** Which of the three metrics to compute (default all). */
export type DownstreamMetric = 'knn' | 'probe' | 'retrieval';

/**
 * The metrics for an encoder model: reference = embeddings of the clean training inputs,
 * queries = embeddings of the clean held-out inputs; R@1 on two views of every held-out input (all
 * first views, then all second views, from Rng.fromSeed(viewSeed)). Deterministic given the
 * parameters, the data set and viewSeed. k-NN and the probe need labels: asking for them on an
 * unlabelled data set is a ConfigError.
 */
export function downstreamMetrics(
  model: Model, params: Params, data: Dataset, backend?: Backend, opts: DownstreamOptions = {},
  which: readonly DownstreamMetric[] = ['knn', 'probe', 'retrieval'],
): DownstreamReport {
  const op = 'downstreamMetrics';
  if (!model.embedInputs) throw new ConfigError(op, `model '${model.name}' has no input encoder (free embeddings have no held-out inputs)`);
  if (data.Xtest.rows < 1) throw new ShapeError(op, 'the data set has no held-out examples');
  const labelled = which.includes('knn') || which.includes('probe');
  if (labelled && (data.y === null || data.ytest === null)) {
    throw new ConfigError(op, `data '${data.kind}' has no labels; k-NN and linear-probe accuracy need them (two-view R@1 does not)`);
  }
  const be = f64(backend);
  const K = data.classes;
  let knn = NaN;
  let probe = NaN;
  let retrieval = NaN;
  if (labelled) {
    const train = model.embedInputs(params, data.X, be);
    const test = model.embedInputs(params, data.Xtest, be);
    if (which.includes('knn')) knn = knnAccuracy(train, data.y!, test, data.ytest!, { k: opts.k ?? 5, classes: K, backend: be });
    if (which.includes('probe')) probe = linearProbeAccuracy(train, data.y!, test, data.ytest!, { ridge: opts.ridge ?? 1e-3, classes: K, backend: be });
  }
  if (which.includes('retrieval')) {
    const rng = Rng.fromSeed(opts.viewSeed ?? 0);
    const X1 = augmentView(data.Xtest, rng, data.augment);
    const X2 = augmentView(data.Xtest, rng, data.augment);
    retrieval = twoViewRecallAt1(model.embedInputs(params, X1, be), model.embedInputs(params, X2, be), { backend: be });
  }
  return { knn, probe, retrieval, chance: { accuracy: K > 0 ? 1 / K : NaN, retrieval: 1 / data.Xtest.rows } };
}
