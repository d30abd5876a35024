/**
 * k-means (Lloyd) with greedy k-means++ seeding, deterministic given the Rng: the settings of
 * scikit-learn's `KMeans(n_clusters, n_init=10)` that CHO's `sc_even` calls (init 'k-means++'
 * with 2 + ⌊ln K⌋ local trials per centre, max_iter = 300, tol = 1e-4 scaled by the mean per-feature
 * variance, best of n_init runs by inertia). CHO's call passes no random_state; here every draw
 * comes from the Rng.
 *
 * Seeding (Arthur & Vassilvitskii 2007, greedy variant): the first centre uniformly; each further
 * centre the best (least potential Σ_i min_c ‖x_i − c‖²) of 2 + ⌊ln K⌋ candidates drawn with
 * probability ∝ the current squared distance to the nearest centre.
 * Lloyd: assign to the nearest centre (ties: lowest index), move centres to the means; stop when
 * the assignment no longer changes or the total squared centre shift is ≤ tol·mean variance, or
 * after maxIter iterations; the returned labels are the nearest-centre labels of the returned
 * centres. An empty cluster is re-seeded at the point farthest from its centre (among points of
 * clusters with at least two members), as scikit-learn does.
 * Squared distances are ‖x‖² + ‖c‖² − 2 x·c with x·c from the float64 gemm, clamped at 0.
 */
import type { Backend } from '../../backend/types.ts';
import { DomainError } from '../../core/errors.ts';
import type { Rng } from '../../core/random.ts';
import { dense, gemm64 } from './linalg.ts';

export interface KMeansOptions {
  readonly rng: Rng;
  /** Float64 backend for the distance products. */
  readonly la: Backend;
  /** Independent seedings; the run with the least inertia wins (default 10, as scikit-learn's). */
  readonly nInit?: number;
  /** Lloyd iterations per run (default 300). */
  readonly maxIter?: number;
  /** Relative tolerance on the total squared centre shift (default 1e-4). */
  readonly tol?: number;
}

export interface KMeansResult {
  /** K x dim, row-major. */
  readonly centers: Float64Array;
  /** Nearest centre of every point. */
  readonly labels: Int32Array;
  /** Σ_i ‖x_i − c_{label(i)}‖². */
  readonly inertia: number;
  /** Lloyd iterations of the winning run. */
  readonly iterations: number;
}

/** Row squared norms of a row-major n x dim array. */
function rowSq(X: Float64Array, n: number, dim: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += X[i * dim + k]! ** 2;
    out[i] = s;
  }
  return out;
}

/** out (n x m) ← squared distances between the rows of X (n x dim) and of C (m x dim). */
function sqDist(la: Backend, X: Float64Array, xx: Float64Array, n: number, C: Float64Array, m: number, dim: number, out: Float64Array): void {
  const cc = rowSq(C, m, dim);
  const G = dense(out, n, m);
  gemm64(la, -2, dense(X, n, dim), { data: C, rows: dim, cols: m, rowStride: 1, colStride: dim, offset: 0 }, 0, G);
  for (let i = 0; i < n; i++) {
    const xi = xx[i]!;
    for (let j = 0; j < m; j++) {
      const v = out[i * m + j]! + xi + cc[j]!;
      out[i * m + j] = v > 0 ? v : 0;
    }
  }
}

function kmeansPlusPlus(X: Float64Array, xx: Float64Array, n: number, dim: number, K: number, rng: Rng, la: Backend): Float64Array {
  const centers = new Float64Array(K * dim);
  const trials = 2 + Math.floor(Math.log(K));
  const first = rng.int(n);
  centers.set(X.subarray(first * dim, first * dim + dim), 0);
  const closest = new Float64Array(n);
  sqDist(la, X, xx, n, centers.subarray(0, dim), 1, dim, closest);
  const cum = new Float64Array(n);
  const cand = new Int32Array(trials);
  const candRows = new Float64Array(trials * dim);
  const dc = new Float64Array(n * trials);
  for (let c = 1; c < K; c++) {
    let acc = 0;
    for (let i = 0; i < n; i++) cum[i] = acc += closest[i]!;
    for (let t = 0; t < trials; t++) {
      const r = rng.uniform() * acc;
      // First index with cum >= r (numpy searchsorted, side 'left'), clipped to n − 1.
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cum[mid]! >= r) hi = mid;
        else lo = mid + 1;
      }
      cand[t] = lo;
      candRows.set(X.subarray(lo * dim, lo * dim + dim), t * dim);
    }
    sqDist(la, X, xx, n, candRows, trials, dim, dc);
    let best = 0;
    let bestPot = Infinity;
    for (let t = 0; t < trials; t++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += Math.min(closest[i]!, dc[i * trials + t]!);
      if (s < bestPot) {
        bestPot = s;
        best = t;
      }
    }
    for (let i = 0; i < n; i++) closest[i] = Math.min(closest[i]!, dc[i * trials + best]!);
    centers.set(X.subarray(cand[best]! * dim, cand[best]! * dim + dim), c * dim);
  }
  return centers;
}

/** Nearest centre per point (ties: lowest index); returns the inertia. */
function assignNearest(D: Float64Array, n: number, K: number, labels: Int32Array, mind: Float64Array): number {
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    let b = 0;
    let bd = D[i * K]!;
    for (let k = 1; k < K; k++) {
      const v = D[i * K + k]!;
      if (v < bd) {
        bd = v;
        b = k;
      }
    }
    labels[i] = b;
    mind[i] = bd;
    inertia += bd;
  }
  return inertia;
}

function lloyd(X: Float64Array, xx: Float64Array, n: number, dim: number, K: number, centers: Float64Array, maxIter: number, tolScaled: number, la: Backend): KMeansResult {
  const D = new Float64Array(n * K);
  const labels = new Int32Array(n).fill(-1);
  const prev = new Int32Array(n);
  const mind = new Float64Array(n);
  const counts = new Int32Array(K);
  const next = new Float64Array(K * dim);
  let it = 0;
  for (; it < maxIter; it++) {
    prev.set(labels);
    sqDist(la, X, xx, n, centers, K, dim, D);
    assignNearest(D, n, K, labels, mind);
    let same = it > 0;
    for (let i = 0; same && i < n; i++) if (labels[i] !== prev[i]) same = false;
    if (same) break;
    // Re-seed empty clusters at the farthest points (of clusters with >= 2 members).
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[labels[i]!]++;
    for (let k = 0; k < K; k++) {
      if (counts[k]! > 0) continue;
      let far = -1;
      for (let i = 0; i < n; i++) if (counts[labels[i]!]! > 1 && (far < 0 || mind[i]! > mind[far]!)) far = i;
      if (far < 0) break; // fewer distinct points than clusters: nothing to move
      counts[labels[far]!]--;
      labels[far] = k;
      counts[k] = 1;
      mind[far] = 0;
    }
    next.fill(0);
    for (let i = 0; i < n; i++) {
      const o = labels[i]! * dim;
      for (let k = 0; k < dim; k++) next[o + k] += X[i * dim + k]!;
    }
    let shift = 0;
    for (let c = 0; c < K; c++) {
      if (counts[c] === 0) {
        for (let k = 0; k < dim; k++) next[c * dim + k] = centers[c * dim + k]!;
        continue;
      }
      for (let k = 0; k < dim; k++) {
        const v = next[c * dim + k]! / counts[c]!;
        shift += (v - centers[c * dim + k]!) ** 2;
        next[c * dim + k] = v;
      }
    }
    centers.set(next);
    if (shift <= tolScaled) {
      it++;
      break;
    }
  }
  sqDist(la, X, xx, n, centers, K, dim, D);
  const inertia = assignNearest(D, n, K, labels, mind);
  return { centers, labels, inertia, iterations: it };
}

/** k-means of the rows of X (row-major n x dim) into K clusters; see the file comment. */
export function kmeans(X: Float64Array, n: number, dim: number, K: number, opts: KMeansOptions): KMeansResult {
  if (!Number.isInteger(K) || K < 1 || K > n) throw new DomainError('kmeans', `K must be an integer in [1, ${n}], got ${K}`);
  const nInit = opts.nInit ?? 10;
  const maxIter = opts.maxIter ?? 300;
  const tol = opts.tol ?? 1e-4;
  if (!Number.isInteger(nInit) || nInit < 1) throw new DomainError('kmeans', `nInit must be an integer >= 1, got ${nInit}`);
  if (!Number.isInteger(maxIter) || maxIter < 1) throw new DomainError('kmeans', `maxIter must be an integer >= 1, got ${maxIter}`);
  if (!(tol >= 0)) throw new DomainError('kmeans', `tol must be >= 0, got ${tol}`);
  const xx = rowSq(X, n, dim);
  // tol · mean over features of the per-feature variance (scikit-learn's _tolerance).
  let meanVar = 0;
  for (let k = 0; k < dim; k++) {
    let mu = 0;
    for (let i = 0; i < n; i++) mu += X[i * dim + k]!;
    mu /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (X[i * dim + k]! - mu) ** 2;
    meanVar += v / n;
  }
  const tolScaled = (tol * meanVar) / dim;
  let best: KMeansResult | null = null;
  for (let r = 0; r < nInit; r++) {
    const centers = kmeansPlusPlus(X, xx, n, dim, K, opts.rng, opts.la);
    const res = lloyd(X, xx, n, dim, K, centers, maxIter, tolScaled, opts.la);
    if (best === null || res.inertia < best.inertia) best = res;
  }
  return best!;
}
