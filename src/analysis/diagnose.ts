/**
 * `diagnose`: what the theory says about a researcher's own embeddings U, V (N x d, pairs (u_i, v_i)).
 *
 * Exact (no sampling; blocked passes of diagnosePasses.ts, memory O(N·d)):
 *  - rows: norms; rows with |‖x‖ − 1| > unitTolerance are counted (normalised only on request);
 *  - every objective's value (infonce THEORY 2.1; gcl-bimodal / gcl-unimodal with ε₀, THEORY 2.3), the
 *    Euclidean and Riemannian gradient norms, and the gap to the best lower bound known at (N, d, τ)
 *    for unit rows (THEORY 3 and 9.7, derived there by Jensen's inequality and the similarity bound):
 *      infonce  ≥ log(1 + (N−1)·e^{−N/((N−1)τ)}),   gcl (both)  ≥ τ·log(ε₀ + e^{−N/((N−1)τ)}),
 *    in any d; attained (at the simplex ETF) only when d ≥ N − 1, so for d < N − 1 the gap is to a
 *    bound, labelled so;
 *  - per anchor: the infonce row / column terms and log g (bimodal g1, g2; unimodal g of u_i, v_i); the
 *    hardest anchors (largest (row + col)/2) with their nearest negatives (largest u_i·v_j, j ≠ i);
 *  - similarities s_ij = u_i·v_j: mean and variance of the positives s_ii and of the negatives
 *    (i ≠ j; Σ_{i≠j} s_ij² = ⟨UᵀU, VᵀV⟩ − Σ s_ii², O(N·d²)), and the bound
 *    E[s_pos] ≤ 1 + E[s_neg] + 1/(N−1) checked on the data (analysis/similarity.ts);
 *  - with labels: the expected same-label negatives per anchor in a uniform batch of B,
 *    (B−1)·Σ_c n_c(n_c−1)/(N(N−1)), and the chance an anchor has at least one,
 *    1 − (1/N) Σ_c n_c·C(N−n_c, B−1)/C(N−1, B−1).
 * Sampled (standard errors given):
 *  - per B: the bias and variance of the plug-in and exact-u SogCLR estimators (analysis/bias.ts) and
 *    the Jensen gap F − E[F̂_B] of the mini-batch GCL objective (from the same draws); the mean
 *    mini-batch infonce of random batches against the global infonce (CHO's L_B vs L);
 *  - per B, batch hardness: the mean batch loss of a reshuffled epoch's batches (random), of the
 *    batches approximate OSGD keeps (CHO's k = 1500, q = 150, THEORY 4.4) and of spectral-clustering
 *    batches (THEORY 4.5; on one random group of G = k·B rows, k = max(2, ⌊2048/B⌋), CHO's grouped
 *    variant; skipped for B > 1024, where a group of 2B rows would cost O(B²·d) and an O(B²) matrix),
 *    with the same-label negatives they hold;
 *  - with labels: kNN (k = 5, cosine) and ridge linear-probe accuracy of U on a seeded 80/20 split.
 * The number of draws per B is chosen from a work budget (max(2·N²·d, 2·10¹⁰) flops over all sizes, at
 * least 4 and at most 4000 draws per size) unless given; a bias that the draws cannot resolve is reported
 * as below the noise with the smallest bias they could have resolved.
 */
import { availableParallelism } from 'node:os';
import { createCpuBackend } from '../backend/cpu/index.ts';
import type { Backend } from '../backend/types.ts';
import { assertFitsBudget } from '../core/budget.ts';
import { ConfigError, DomainError, ShapeError } from '../core/errors.ts';
import { type DType, frobeniusNorm, gatherRows, type Matrix, type Matrix64, matrix, toContiguous, transpose, zeros } from '../core/matrix.ts';
import { Rng } from '../core/random.ts';
import { normalizeRows, rowNorms, tangentProject } from '../core/sphere.ts';
import { assertFiniteMatrix, assertNonEmpty, assertNonNegative, assertSameShape, assertTau } from '../core/validate.ts';
import type { Modality } from '../estimators/types.ts';
import { accurateSum, logEpsPlusExp } from '../objectives/common.ts';
import { etfInfonce } from '../optima/closedForms.ts';
import { batchLoss, cutIntoBatches } from '../samplers/common.ts';
import { planApproxOsgd } from '../samplers/osgd.ts';
import { spectralBatches } from '../samplers/spectral.ts';
import { type BiasEstimate, estimatorBiasAt } from './bias.ts';
import { anchorTerms, gclValueTerms, gradPass, type LsePasses, lsePass, type PassName } from './diagnosePasses.ts';
import { runPassesOnWorkers } from './diagnoseWorkers.ts';
import { fitLinearProbe, knnAccuracy, predictLinearProbe } from './downstream.ts';
import { similarityStats } from './similarity.ts';

export interface DiagnoseOptions {
  /** Temperature τ > 0 of every objective. */
  readonly tau: number;
  /** ε₀ ≥ 0 of the GCL objectives and estimators (default 0). */
  readonly eps0?: number;
  /** Batch sizes B, distinct integers in [2, N]. */
  readonly batchSizes: readonly number[];
  /** Integer labels ≥ 0, one per pair (optional). */
  readonly labels?: Int32Array | null;
  /** Normalise the rows first (default false: rows are used as given and non-unit ones reported). */
  readonly normalize?: boolean;
  /** The estimator set of the bias section: 'bimodal' (CLIP / DCL) or 'unimodal' (SimCLR); default bimodal. */
  readonly modality?: Modality;
  /** Bias draws per batch size (default: from the work budget of the file comment). */
  readonly draws?: number;
  readonly seed?: number;
  /** Kernel precision (default f64). */
  readonly dtype?: DType;
  /** Backend of the calling thread's kernels (default: a CPU backend of `dtype`, created and disposed here). */
  readonly backend?: Backend;
  /** Worker threads for the objective passes (default 1: everything on the calling thread). Results do not depend on it. */
  readonly threads?: number;
  /** Hardest anchors listed (default 10) and nearest negatives per anchor (default 5). */
  readonly hardest?: number;
  readonly neighbours?: number;
  /** |‖x‖ − 1| above this counts a row as not unit (default 1e-4). */
  readonly unitTolerance?: number;
  /** Skip the spectral-clustering batches (the slowest sampled part). */
  readonly skipSpectral?: boolean;
  /** Progress: work done and total (arbitrary units, ∝ flops), and what runs now. */
  readonly onProgress?: (done: number, total: number, what: string) => void;
}

export interface Moments { readonly mean: number; readonly se: number; readonly count: number }

export interface ObjectiveDiagnosis {
  readonly name: 'infonce' | 'gcl-bimodal' | 'gcl-unimodal';
  readonly value: number;
  readonly gradNorm: number;
  readonly riemannianGradNorm: number;
  /** The lower bound for unit rows (null when rows are not unit). */
  readonly bound: { readonly value: number; readonly attained: boolean; readonly label: string } | null;
  /** value − bound.value (null without a bound). */
  readonly gap: number | null;
}

export interface Histogram { readonly edges: number[]; readonly counts: number[]; readonly sampled: number; readonly of: number }

export interface BiasDiagnosis {
  readonly draws: number;
  readonly groups: number;
  readonly plugin: BiasEstimate & { readonly resolved: boolean };
  readonly sogclr: BiasEstimate & { readonly resolved: boolean };
  readonly statement: string;
}

export interface BatchSizeDiagnosis {
  readonly B: number;
  /** Mini-batch GCL F̂_B over the bias draws, and F − E[F̂_B] (Jensen: ≥ 0 up to noise). */
  readonly gclMinibatch: Moments;
  readonly jensenGap: { readonly value: number; readonly se: number };
  /** Mean infonce of random B-batches (a reshuffled epoch) vs the global infonce. */
  readonly infonceMinibatch: Moments;
  readonly infonceGap: number;
  /** CHO's all-batches value at the ETF for this B, for reference when d ≥ N − 1. */
  readonly bias: BiasDiagnosis;
  readonly hardness: {
    readonly random: Moments;
    readonly osgd: Moments & { readonly k: number; readonly q: number };
    readonly spectral: (Moments & { readonly rows: number; readonly groupSize: number }) | null;
  };
  readonly falseNegatives: {
    /** Expected same-label negatives per anchor in a uniform batch (exact). */
    readonly expectedPerAnchor: number;
    /** P(an anchor has at least one same-label negative) in a uniform batch (exact). */
    readonly probabilityAtLeastOne: number;
    /** Measured in the batches kept by approximate OSGD / spectral clustering. */
    readonly osgdPerAnchor: number;
    readonly spectralPerAnchor: number | null;
  } | null;
}

export interface Diagnosis {
  readonly n: number;
  readonly d: number;
  readonly tau: number;
  readonly eps0: number;
  readonly dtype: DType;
  readonly modality: Modality;
  readonly seed: number;
  readonly rows: {
    readonly normalized: boolean;
    readonly unitTolerance: number;
    readonly nonUnitU: number;
    readonly nonUnitV: number;
    readonly minNorm: number;
    readonly maxNorm: number;
    /** First non-unit rows (up to 10): [side, index, norm]. */
    readonly examples: Array<['U' | 'V', number, number]>;
  };
  readonly objectives: readonly ObjectiveDiagnosis[];
  readonly anchors: {
    readonly infonceRow: Float64Array;
    readonly infonceCol: Float64Array;
    readonly logG1: Float64Array;
    readonly logG2: Float64Array;
    readonly logGu: Float64Array;
    readonly logGv: Float64Array;
    readonly hardest: Array<{ index: number; loss: number; nearestNegatives: Array<{ index: number; similarity: number }> }>;
    /** Histogram of the anchors' infonce losses (row + col)/2. */
    readonly lossHistogram: Histogram;
  };
  readonly similarity: {
    readonly positive: { readonly mean: number; readonly variance: number };
    readonly negative: { readonly mean: number; readonly variance: number };
    readonly bound: { readonly lhs: number; readonly rhs: number; readonly slack: number; readonly holds: boolean; readonly applies: boolean };
    readonly positiveHistogram: Histogram;
    readonly negativeHistogram: Histogram;
  };
  readonly batchSizes: readonly BatchSizeDiagnosis[];
  readonly labels: {
    readonly classes: number;
    readonly classSizes: number[];
    readonly knn: { readonly k: number; readonly accuracy: number };
    readonly linearProbe: { readonly accuracy: number; readonly ridge: number };
    readonly split: { readonly train: number; readonly test: number };
  } | null;
}

/** CHO's approximate-OSGD setting (THEORY 4.4). */
export const DIAGNOSE_OSGD = { k: 1500, q: 150 } as const;
/** Spectral batches: one group of G = k·B ≤ 2048 rows (k = max(2, ⌊2048/B⌋)); B > 1024 is skipped. */
const SPECTRAL_ROWS = 2048;
export const DIAGNOSE_SPECTRAL_MAX_B = SPECTRAL_ROWS / 2;
const NEG_HIST_PAIRS = 100_000;
const HIST_BINS = 40;

export function checkDiagnoseInputs(op: string, U: Matrix, V: Matrix, o: DiagnoseOptions): void {
  assertNonEmpty(op, 'U', U);
  assertSameShape(op, 'U', U, 'V', V);
  assertFiniteMatrix(op, 'U', U);
  assertFiniteMatrix(op, 'V', V);
  const n = U.rows;
  if (n < 4) throw new ShapeError(op, `needs N >= 4 pairs, got N = ${n}`);
  assertTau(op, o.tau);
  assertNonNegative(op, 'eps0', o.eps0 ?? 0);
  if (o.batchSizes.length === 0) throw new ConfigError(op, 'needs at least one batch size');
  const seen = new Set<number>();
  for (const B of o.batchSizes) {
    if (!Number.isInteger(B) || B < 2) throw new DomainError(op, `batch size B must be an integer >= 2, got ${B}`);
    if (B > n) throw new DomainError(op, `batch size B = ${B} exceeds N = ${n}`);
    if (seen.has(B)) throw new DomainError(op, `batch size B = ${B} is listed twice`);
    seen.add(B);
  }
  if (o.labels) {
    if (o.labels.length !== n) throw new ShapeError(op, `labels has ${o.labels.length} entries but U has N = ${n} rows`);
    for (let i = 0; i < n; i++) if (!(o.labels[i]! >= 0)) throw new DomainError(op, `label ${i} is ${o.labels[i]}; labels must be integers >= 0`);
  }
  if (o.draws !== undefined && (!Number.isInteger(o.draws) || o.draws < 4)) throw new DomainError(op, `draws must be an integer >= 4, got ${o.draws}`);
  if (o.threads !== undefined && (!Number.isInteger(o.threads) || o.threads < 1)) throw new DomainError(op, `threads must be an integer >= 1, got ${o.threads}`);
  // Working memory: the gradients (5 passes x 2 x N·d float64) and the bias group sums (≤ 1 GiB).
  assertFitsBudget(op, `the gradients of N = ${n}, d = ${U.cols}`, 12 * n * U.cols * 8);
}

/**
 * Draws per B from the work budget max(2·N²·d, 2·10¹⁰) flops over all sizes (≈ 8·B²·d per bimodal
 * draw, 4x that unimodal), at least 4 and at most 4000 per size.
 */
export function autoDraws(n: number, d: number, batchSizes: readonly number[], modality: Modality): number[] {
  const perSize = Math.max(2 * n * n, 2e10 / d) / batchSizes.length;
  const c = modality === 'bimodal' ? 8 : 32;
  return batchSizes.map((B) => Math.max(4, Math.min(4000, Math.floor(perSize / (c * B * B)))));
}

function moments(xs: ArrayLike<number>): Moments {
  const k = xs.length;
  let s = 0;
  for (let i = 0; i < k; i++) s += xs[i]!;
  const mean = s / k;
  let v = 0;
  for (let i = 0; i < k; i++) v += (xs[i]! - mean) ** 2;
  return { mean, se: k > 1 ? Math.sqrt(v / (k - 1) / k) : NaN, count: k };
}

function histogram(xs: ArrayLike<number>, lo: number, hi: number, of: number): Histogram {
  if (!(hi > lo)) hi = lo + 1;
  const counts = new Array<number>(HIST_BINS).fill(0);
  const w = (hi - lo) / HIST_BINS;
  for (let i = 0; i < xs.length; i++) counts[Math.min(HIST_BINS - 1, Math.max(0, Math.floor((xs[i]! - lo) / w)))]!++;
  return { edges: Array.from({ length: HIST_BINS + 1 }, (_, i) => lo + i * w), counts, sampled: xs.length, of };
}

/** Frobenius norm of (gU, gV) and of its row-wise tangent projection at (U, V) (core/sphere.ts). */
function gradNorms(U: Matrix64, V: Matrix64, gU: Float64Array, gV: Float64Array): { euclid: number; riem: number } {
  const GU = matrix(gU, U.rows, U.cols);
  const GV = matrix(gV, V.rows, V.cols);
  return { euclid: frobeniusNorm(GU, GV), riem: frobeniusNorm(tangentProject(U, GU), tangentProject(V, GV)) };
}

/** log C(a, b) by log-gamma sums (a, b ≤ 2^31). */
function logChoose(a: number, b: number): number {
  if (b < 0 || b > a) return -Infinity;
  let s = 0;
  // Σ log((a−b+1..a)/(1..b)) with the shorter side.
  const k = Math.min(b, a - b);
  for (let t = 1; t <= k; t++) s += Math.log((a - k + t) / t);
  return s;
}

/** Same-label negatives per anchor over a list of batches. */
function sameLabelPerAnchor(batches: readonly ArrayLike<number>[], labels: Int32Array): number {
  let pairs = 0;
  let anchors = 0;
  for (const b of batches) {
    const counts = new Map<number, number>();
    for (let t = 0; t < b.length; t++) counts.set(labels[b[t]!]!, (counts.get(labels[b[t]!]!) ?? 0) + 1);
    for (const c of counts.values()) pairs += c * (c - 1);
    anchors += b.length;
  }
  return pairs / anchors;
}

/**
 * Diagnoses the embeddings (see the file comment). U, V: N x d, finite; float32 or float64.
 *
 * @example
 *   const r = diagnose(U, V, { tau: 0.1, batchSizes: [32, 256] });
 *   r.objectives.find((o) => o.name === 'infonce')!.gap;   // distance to the ETF bound
 *   r.batchSizes[0]!.bias.plugin.bias;                       // plug-in estimator's bias at B = 32
 */
export async function diagnose(Uin: Matrix, Vin: Matrix, o: DiagnoseOptions): Promise<Diagnosis> {
  const op = 'diagnose';
  checkDiagnoseInputs(op, Uin, Vin, o);
  const tau = o.tau;
  const eps0 = o.eps0 ?? 0;
  const seed = o.seed ?? 0;
  const dtype = o.dtype ?? 'f64';
  const modality = o.modality ?? 'bimodal';
  const unitTolerance = o.unitTolerance ?? 1e-4;
  const n = Uin.rows;
  const d = Uin.cols;
  // Rows.
  const nu = rowNorms(Uin);
  const nv = rowNorms(Vin);
  let nonUnitU = 0;
  let nonUnitV = 0;
  let minNorm = Infinity;
  let maxNorm = 0;
  const examples: Array<['U' | 'V', number, number]> = [];
  for (const [side, norms] of [['U', nu], ['V', nv]] as const) {
    for (let i = 0; i < n; i++) {
      const x = norms[i]!;
      minNorm = Math.min(minNorm, x);
      maxNorm = Math.max(maxNorm, x);
      if (Math.abs(x - 1) > unitTolerance) {
        if (side === 'U') nonUnitU++;
        else nonUnitV++;
        if (examples.length < 10) examples.push([side, i, x]);
      }
    }
  }
  const normalized = o.normalize === true;
  const U: Matrix64 = normalized ? normalizeRows(Uin, op, 'U') : (toContiguous(Uin, 'f64') as Matrix64);
  const V: Matrix64 = normalized ? normalizeRows(Vin, op, 'V') : (toContiguous(Vin, 'f64') as Matrix64);
  const unit = normalized || (nonUnitU === 0 && nonUnitV === 0);

  const sizes = o.batchSizes;
  const draws = o.draws !== undefined ? sizes.map(() => o.draws!) : autoDraws(n, d, sizes, modality);
  // Progress units: N²·d-flop passes (2 per lse, 6 per gradient) and the sampled parts.
  const nnd = n * n * d;
  const drawCost = (B: number) => (modality === 'bimodal' ? 8 : 32) * B * B * d;
  const total = 36 * nnd + sizes.reduce((s, B, i) => s + draws[i]! * drawCost(B) + 4 * n * B * d, 0) + (o.labels ? 2 * n * n * d * 0.16 : 0);
  let done = 0;
  const progress = (w: number, what: string) => {
    done += w;
    o.onProgress?.(Math.min(done, total), total, what);
  };

  const own = o.backend === undefined;
  const backend = o.backend ?? createCpuBackend({ dtype });
  try {
    // ---- per batch size: hardness (needs only U, V) ----
    function batchHardness() {
      return sizes.map((B, bi) => {
        o.onProgress?.(done, total, `batch hardness, B = ${B}`);
        const rng = Rng.fromSeed(`diagnose-hardness:${seed}:${B}`);
        const plan = planApproxOsgd(U, V, { B, k: DIAGNOSE_OSGD.k, q: DIAGNOSE_OSGD.q, tau, rng, backend });
        const kept = plan.selected.map((i) => plan.scores[i]!);
        let spectral: BatchSizeDiagnosis['hardness']['spectral'] = null;
        let spectralBatchesUsed: Int32Array[] | null = null;
        if (!o.skipSpectral && Math.ceil(n / B) >= 2 && B <= DIAGNOSE_SPECTRAL_MAX_B) {
          const groupSize = Math.min(n, Math.max(2, Math.floor(SPECTRAL_ROWS / B)) * B);
          const rows = groupSize;
          const sub = rng.permutation(n).subarray(0, rows);
          const Us = gatherRows(U, sub) as Matrix64;
          const Vs = gatherRows(V, sub) as Matrix64;
          const local = spectralBatches(Us, Vs, { tau, B, rng, backend, groupSize: groupSize < rows ? groupSize : undefined });
          spectralBatchesUsed = local.map((b) => Int32Array.from(b, (t) => sub[t]!));
          const scores = spectralBatchesUsed.map((b) => batchLoss(U, V, b, tau, backend));
          spectral = { ...moments(scores), rows, groupSize };
        }
        progress(4 * n * B * d, `batch hardness, B = ${B}`);
        return {
          random: moments(plan.scores),
          osgd: { ...moments(kept), ...DIAGNOSE_OSGD },
          spectral,
          osgdBatches: plan.selected.map((i) => plan.batches[i]!),
          spectralBatches: spectralBatchesUsed,
          bi,
        };
      });
    }

    // ---- objectives: the passes, on this thread or on workers ----
    // With workers, the calling thread meanwhile does what needs only U and V (batch hardness), then
    // the estimator bias as soon as the gradient it compares with is done.
    const threads = o.threads ?? 1;
    const lseNames: PassName[] = ['lse-uv', 'lse-uu', 'lse-vv'];
    // The gradient the bias section needs goes first.
    const gradNames: PassName[] = modality === 'bimodal'
      ? ['grad-gcl-bimodal', 'grad-infonce', 'grad-uni-uu', 'grad-uni-vv', 'grad-uni-uv']
      : ['grad-uni-uu', 'grad-uni-vv', 'grad-uni-uv', 'grad-gcl-bimodal', 'grad-infonce'];
    const run = (names: PassName[], lse: LsePasses | null, w: number): Map<PassName, Promise<Float64Array[]>> => {
      if (threads > 1) return runPassesOnWorkers(names, U, V, { tau, eps0, dtype: backend.dtype, lse, threads: Math.min(threads, names.length), onDone: (name) => progress(w, name) });
      const out = new Map<PassName, Promise<Float64Array[]>>();
      for (const name of names) {
        o.onProgress?.(done, total, name);
        out.set(name, Promise.resolve(name.startsWith('lse') ? lsePass(name as 'lse-uv', U, V, tau, backend) : gradPass(name as 'grad-infonce', U, V, tau, eps0, lse!, backend)));
        progress(w, name);
      }
      return out;
    };
    const all = async (m: Map<PassName, Promise<Float64Array[]>>) => new Map(await Promise.all([...m].map(async ([k, v]) => [k, await v] as const)));
    const lseP = run(lseNames, null, 2 * nnd);
    const labels = o.labels ?? null;
    const hard = batchHardness();
    if (threads > 1) o.onProgress?.(done, total, 'waiting for the log-sum-exp passes');
    const L = await all(lseP);
    const lse: LsePasses = {
      negRow: L.get('lse-uv')![0]!, negCol: L.get('lse-uv')![1]!, positive: L.get('lse-uv')![2]!, uu: L.get('lse-uu')![0]!, vv: L.get('lse-vv')![0]!,
    };
    const terms = anchorTerms(lse);
    const gradsP = run(gradNames, lse, 6 * nnd);
    const logGfor = modality === 'bimodal' ? [terms.logG1, terms.logG2] : [terms.logGu!, terms.logGv!];
    const logG = new Float64Array(2 * n);
    logG.set(logGfor[0]!, 0);
    logG.set(logGfor[1]!, n);

    // ---- values and bounds ----
    const infTerms = new Float64Array(2 * n);
    infTerms.set(terms.infonceRow, 0);
    infTerms.set(terms.infonceCol, n);
    const values = {
      infonce: accurateSum(infTerms) / (2 * n),
      'gcl-bimodal': (tau / (2 * n)) * accurateSum(gclValueTerms(eps0, terms.logG1, terms.logG2)),
      'gcl-unimodal': (tau / (2 * n)) * accurateSum(gclValueTerms(eps0, terms.logGu!, terms.logGv!)),
    };
    const attained = d >= n - 1;
    const x = -n / ((n - 1) * tau);
    const bounds = {
      infonce: etfInfonce(n, tau),
      'gcl-bimodal': tau * logEpsPlusExp(eps0, x),
      'gcl-unimodal': tau * logEpsPlusExp(eps0, x),
    };

    // ---- similarities ----
    const sim = similarityStats(U, V);
    // Positive similarities in float64 from the rows (the kernels' S_ii is in their dtype and divided by τ).
    const posSims = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += U.data[i * d + c]! * V.data[i * d + c]!;
      posSims[i] = s;
    }
    let posVar = 0;
    for (let i = 0; i < n; i++) posVar += (posSims[i]! - sim.meanPositive) ** 2;
    posVar /= n;
    const gu = zeros(d, d);
    const gv = zeros(d, d);
    const k64 = createCpuBackend({ dtype: 'f64' });
    let negVar: number;
    try {
      k64.kernels.gemm(1, transpose(U), U, 0, gu);
      k64.kernels.gemm(1, transpose(V), V, 0, gv);
      const prods = new Float64Array(d * d);
      for (let t = 0; t < d * d; t++) prods[t] = gu.data[t]! * gv.data[t]!;
      const sq = new Float64Array(n);
      for (let i = 0; i < n; i++) sq[i] = posSims[i]! ** 2;
      const negSq = accurateSum(prods) - accurateSum(sq);
      negVar = negSq / (n * (n - 1)) - sim.meanNegative ** 2;
    } finally {
      k64.dispose();
    }
    const hrng = Rng.fromSeed(`diagnose-hist:${seed}`);
    const pairs = Math.min(NEG_HIST_PAIRS, n * (n - 1));
    const negSample = new Float64Array(pairs);
    for (let t = 0; t < pairs; t++) {
      const i = hrng.int(n);
      let j = hrng.int(n - 1);
      if (j >= i) j++;
      let s = 0;
      for (let c = 0; c < d; c++) s += U.data[i * d + c]! * V.data[j * d + c]!;
      negSample[t] = s;
    }
    // Histogram range: [−1, 1] for unit rows, else every value shown (a loop: spreading N values into Math.min overflows the stack).
    let simLo = unit ? -1 : Infinity;
    let simHi = unit ? 1 : -Infinity;
    if (!unit) {
      for (const a of [posSims, negSample]) {
        for (const v of a) {
          simLo = Math.min(simLo, v);
          simHi = Math.max(simHi, v);
        }
      }
    }

    // ---- hardest anchors ----
    const H = Math.min(o.hardest ?? 10, n);
    const K = Math.min(o.neighbours ?? 5, n - 1);
    const anchorLoss = Float64Array.from(terms.infonceRow, (r, i) => (r + terms.infonceCol[i]!) / 2);
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => anchorLoss[b]! - anchorLoss[a]! || a - b);
    const hardest = order.slice(0, H).map((i) => {
      const sims: Array<{ index: number; similarity: number }> = [];
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        let s = 0;
        for (let c = 0; c < d; c++) s += U.data[i * d + c]! * V.data[j * d + c]!;
        sims.push({ index: j, similarity: s });
      }
      sims.sort((a, b) => b.similarity - a.similarity || a.index - b.index);
      return { index: i, loss: anchorLoss[i]!, nearestNegatives: sims.slice(0, K) };
    });
    let lossLo = Infinity;
    let lossHi = -Infinity;
    for (const v of anchorLoss) {
      lossLo = Math.min(lossLo, v);
      lossHi = Math.max(lossHi, v);
    }

    // ---- bias and Jensen gap (needs the exact gradient of the modality's GCL objective) ----
    const gradOf = async (name: 'infonce' | 'gcl-bimodal' | 'gcl-unimodal'): Promise<Float64Array[]> => {
      if (name === 'infonce') return gradsP.get('grad-infonce')!;
      if (name === 'gcl-bimodal') return gradsP.get('grad-gcl-bimodal')!;
      const [uu, vv, uv] = await Promise.all((['grad-uni-uu', 'grad-uni-vv', 'grad-uni-uv'] as const).map((k) => gradsP.get(k)!));
      return [Float64Array.from(uu![0]!, (v, t) => v + uv![0]![t]!), Float64Array.from(vv![0]!, (v, t) => v + uv![1]![t]!)];
    };
    if (threads > 1) o.onProgress?.(done, total, 'waiting for the gradient passes');
    const exactGrad = await gradOf(modality === 'bimodal' ? 'gcl-bimodal' : 'gcl-unimodal');
    const F = values[modality === 'bimodal' ? 'gcl-bimodal' : 'gcl-unimodal'];
    const biasRun = estimatorBiasAt(U, V, {
      modality, tau, eps0, batchSizes: sizes, draws, seed, backend,
      exact: { gradU: exactGrad[0]!, gradV: exactGrad[1]!, logG },
      onDraw: (k, all) => {
        const bi = sizes.findIndex((_, t) => draws.slice(0, t + 1).reduce((a, b) => a + b, 0) >= k);
        progress(drawCost(sizes[bi]!), `estimator bias, B = ${sizes[bi]} (${k}/${all} draws)`);
      },
    });
    const z = 2;
    const batchSizes: BatchSizeDiagnosis[] = sizes.map((B, bi) => {
      const row = biasRun.rows[bi]!;
      const h = hard[bi]!;
      const res = (e: BiasEstimate) => ({ ...e, resolved: e.biasSq > z * e.biasSqSE });
      const plugin = res(row.plugin);
      const sogclr = res(row.sogclr);
      const statement = plugin.resolved
        ? `plug-in bias ${plugin.bias.toExponential(2)} ± ${plugin.biasSE.toExponential(2)} resolved by ${row.draws} draws (${(plugin.bias / biasRun.gradNorm).toExponential(2)} of ||grad F||)`
        : `plug-in bias below the noise of ${row.draws} draws: smaller than about ${(plugin.bias + plugin.biasSE).toExponential(2)} (${((plugin.bias + plugin.biasSE) / biasRun.gradNorm).toExponential(2)} of ||grad F||)`;
      let falseNegatives: BatchSizeDiagnosis['falseNegatives'] = null;
      if (labels) {
        const counts = new Map<number, number>();
        for (let i = 0; i < n; i++) counts.set(labels[i]!, (counts.get(labels[i]!) ?? 0) + 1);
        let same = 0;
        let none = 0;
        for (const c of counts.values()) {
          same += c * (c - 1);
          none += c * Math.exp(logChoose(n - c, B - 1) - logChoose(n - 1, B - 1));
        }
        falseNegatives = {
          expectedPerAnchor: ((B - 1) * same) / (n * (n - 1)),
          probabilityAtLeastOne: 1 - none / n,
          osgdPerAnchor: sameLabelPerAnchor(h.osgdBatches, labels),
          spectralPerAnchor: h.spectralBatches ? sameLabelPerAnchor(h.spectralBatches, labels) : null,
        };
      }
      return {
        B,
        gclMinibatch: { ...row.batchObjective, count: row.draws },
        jensenGap: { value: F - row.batchObjective.mean, se: row.batchObjective.se },
        infonceMinibatch: h.random,
        infonceGap: values.infonce - h.random.mean,
        bias: { draws: row.draws, groups: row.groups, plugin, sogclr, statement },
        hardness: { random: h.random, osgd: h.osgd, spectral: h.spectral },
        falseNegatives,
      };
    });

    // ---- labels: kNN and linear probe on a seeded 80/20 split of U ----
    let labelReport: Diagnosis['labels'] = null;
    if (labels) {
      o.onProgress?.(done, total, 'kNN and linear probe');
      const perm = Rng.fromSeed(`diagnose-split:${seed}`).permutation(n);
      const nTrain = Math.max(1, Math.min(n - 1, Math.round(0.8 * n)));
      const tr = perm.subarray(0, nTrain);
      const te = perm.subarray(nTrain);
      const Xtr = gatherRows(U, tr) as Matrix64;
      const Xte = gatherRows(U, te) as Matrix64;
      const ytr = Int32Array.from(tr, (i) => labels[i]!);
      const yte = Int32Array.from(te, (i) => labels[i]!);
      let classes = 0;
      for (const y of labels) classes = Math.max(classes, y + 1);
      const sizesC = new Array<number>(classes).fill(0);
      for (const y of labels) sizesC[y]!++;
      const knn = knnAccuracy(Xtr, ytr, Xte, yte, { k: 5, classes });
      const ridge = 1e-3;
      const probe = fitLinearProbe(Xtr, ytr, { ridge, classes });
      const pred = predictLinearProbe(probe, Xte);
      let correct = 0;
      for (let i = 0; i < pred.length; i++) if (pred[i] === yte[i]) correct++;
      labelReport = { classes, classSizes: sizesC, knn: { k: 5, accuracy: knn }, linearProbe: { accuracy: correct / pred.length, ridge }, split: { train: nTrain, test: n - nTrain } };
      progress(2 * n * n * d * 0.16, 'kNN and linear probe');
    }

    if (threads > 1) o.onProgress?.(done, total, 'waiting for the gradient passes');
    const objectives: ObjectiveDiagnosis[] = [];
    for (const name of ['infonce', 'gcl-bimodal', 'gcl-unimodal'] as const) {
      const gr = await gradOf(name);
      const nm = gradNorms(U, V, gr[0]!, gr[1]!);
      const bound = unit
        ? { value: bounds[name], attained, label: attained ? 'optimum (simplex ETF, attained since d >= N - 1)' : `lower bound (the simplex ETF value; not attained for d = ${d} < N - 1 = ${n - 1})` }
        : null;
      objectives.push({ name, value: values[name], gradNorm: nm.euclid, riemannianGradNorm: nm.riem, bound, gap: bound ? values[name] - bound.value : null });
    }

    return {
      n, d, tau, eps0, dtype: backend.dtype, modality, seed,
      rows: { normalized, unitTolerance, nonUnitU, nonUnitV, minNorm, maxNorm, examples },
      objectives,
      anchors: {
        infonceRow: terms.infonceRow, infonceCol: terms.infonceCol, logG1: terms.logG1, logG2: terms.logG2, logGu: terms.logGu!, logGv: terms.logGv!,
        hardest, lossHistogram: histogram(anchorLoss, lossLo, lossHi, n),
      },
      similarity: {
        positive: { mean: sim.meanPositive, variance: posVar },
        negative: { mean: sim.meanNegative, variance: negVar },
        bound: { lhs: sim.meanPositive, rhs: 1 + sim.meanNegative + 1 / (n - 1), slack: sim.boundSlack, holds: sim.boundSlack >= -1e-12, applies: unit },
        positiveHistogram: histogram(posSims, simLo, simHi, n),
        negativeHistogram: histogram(negSample, simLo, simHi, n * (n - 1)),
      },
      batchSizes,
      labels: labelReport,
    };
  } finally {
    if (own) backend.dispose();
  }
}

/**
 * Default worker threads of the CLI: one more than the cores (at most 5, the number of gradient
 * passes). The calling thread samples meanwhile, and five equal passes split 2:2:1 over three
 * workers end closer together than 3:2 over two (measured at N = 20,000 on 2 cores).
 */
export const diagnoseDefaultThreads = (): number => Math.max(2, Math.min(5, availableParallelism() + 1));
