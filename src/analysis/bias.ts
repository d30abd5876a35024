/**
 * Bias and variance of mini-batch gradient estimators of the global contrastive objective (THEORY 5):
 * the plug-in estimator (u = ĝ: DCL, and SimCLR / CLIP up to ε₀) against SogCLR with u at its exact
 * value g, at fixed random parameters.
 *
 * For a batch b drawn uniformly among the B-subsets, let x_b ∈ R^{2Nd} be the estimate scattered into
 * the full gradient (batch rows of ∂F/∂U and ∂F/∂V, zeros elsewhere). With β = E[x] − ∇F (∇F exact,
 * src/objectives/gcl.ts) and Σ = Cov(x):
 *   bias  ‖β‖    (THEORY: > 0 and decreasing in B for the plug-in; 0 for SogCLR at u = g, every B)
 *   variance  tr Σ (total variance of one estimate)
 *
 * Estimation from R independent draws split round-robin into K groups (K = min(20, R), fewer when the
 * 2·K·2Nd float64 group sums would pass BIAS_MAX_BYTES; at least 4) with group
 * means x̄_k and e_k = x̄_k − ∇F:
 *   - the sample mean's own noise inflates ‖x̄ − ∇F‖² by tr Σ / R on average, so ‖x̄ − ∇F‖ (reported as
 *     `rawBias`, beside `noise` = √(tr Σ̂ / R)) overstates the bias; the estimate of ‖β‖² used instead is
 *     the U-statistic D̂ = Σ_{k≠l} e_k·e_l / (K(K−1)), unbiased because distinct groups are independent
 *     (E[e_k·e_l] = ‖β‖²); with K = 20 it is nearly as efficient as ‖x̄ − ∇F‖² − tr Σ̂/R;
 *   - its standard error is the delete-one-group jackknife of D̂ (se_D);
 *   - `bias` = √max(D̂, 0) and `biasSE` = √(max(D̂, 0) + se_D) − √max(D̂, 0): the delta method's
 *     se_D/(2‖β‖) when the bias is resolved, and √se_D (the smallest resolvable bias) when D̂ ≈ 0;
 *   - tr Σ̂ = (Σ_r ‖x_r‖² − R‖x̄‖²)/(R − 1).
 * A bias "within noise" is |D̂| ≤ z·se_D (SogCLR at u = g reads that way for every B).
 *
 * The power law bias ∝ B^slope is fitted by ordinary least squares of log bias on log B over the
 * sizes whose D̂ > 0; the slope's standard error is the usual s/√Sxx from the residuals (n − 2 degrees
 * of freedom; null with fewer than 3 points).
 */
import { createCpuBackend } from '../backend/cpu/index.ts';
import type { Backend } from '../backend/types.ts';
import { DomainError } from '../core/errors.ts';
import { gatherRows, type Matrix64 } from '../core/matrix.ts';
import { Rng } from '../core/random.ts';
import { normalizeRows } from '../core/sphere.ts';
import { assertNonNegative, assertPositiveInt, assertTau } from '../core/validate.ts';
import { batchPairs, surrogateGrad, surrogateWeights } from '../estimators/batch.ts';
import { logEpsPlusExp } from '../objectives/common.ts';
import type { Modality } from '../estimators/types.ts';
import { gclBimodalLossAndGrad, gclUnimodalLossAndGrad } from '../objectives/gcl.ts';
import { mutant } from '../core/mutants.ts';

export interface BiasOptions {
  /** 'bimodal' (CLIP-like: plug-in = DCL/CLIP) or 'unimodal' (SimCLR-like). */
  readonly modality: Modality;
  readonly n: number;
  readonly d: number;
  readonly tau: number;
  /** ε₀ ≥ 0 of F and of both estimators (default 0). */
  readonly eps0?: number;
  readonly batchSizes: readonly number[];
  /** R ≥ 4 batch draws per size. */
  readonly draws: number;
  readonly seed: number;
  /** Default: a float64 CPU backend, created and disposed here. */
  readonly backend?: Backend;
  /** Called after each batch size (progress). */
  readonly onSize?: (done: number, total: number) => void;
}

export interface BiasEstimate {
  /** √max(D̂, 0): the noise-corrected estimate of ‖E[x] − ∇F‖. */
  readonly bias: number;
  readonly biasSE: number;
  /** D̂, unbiased for ‖E[x] − ∇F‖² (can be negative when the bias is below the noise). */
  readonly biasSq: number;
  readonly biasSqSE: number;
  /** ‖x̄ − ∇F‖ with x̄ the mean of the R draws (noise not removed). */
  readonly rawBias: number;
  /** √(tr Σ̂ / R): the expected size of x̄'s own sampling error. */
  readonly noise: number;
  /** tr Σ̂: total variance of one estimate. */
  readonly variance: number;
}

export interface BiasRow {
  readonly B: number;
  readonly plugin: BiasEstimate;
  readonly sogclr: BiasEstimate;
}

export interface PowerLawFit {
  readonly slope: number;
  /** null with fewer than 3 points. */
  readonly slopeSE: number | null;
  readonly points: number;
}

export interface BiasReport {
  readonly modality: Modality;
  readonly n: number;
  readonly d: number;
  readonly tau: number;
  readonly eps0: number;
  readonly draws: number;
  readonly groups: number;
  readonly seed: number;
  /** ‖∇F‖ at the instance (the scale the biases compare with). */
  readonly gradNorm: number;
  readonly rows: readonly BiasRow[];
  /** Plug-in bias ∝ B^slope (null when fewer than 2 sizes have a positive D̂). */
  readonly fit: PowerLawFit | null;
}

/** Largest 2·K·2Nd float64 group-sum buffers the tool allocates (bytes). */
export const BIAS_MAX_BYTES = 1024 * 1024 * 1024;

/** Accumulates scattered draws into K group sums and the sum of squared norms. */
class Accumulator {
  readonly sums: Float64Array[];
  readonly counts: Int32Array;
  sumSq = 0;
  r = 0;
  constructor(readonly p: number, readonly K: number) {
    this.sums = Array.from({ length: K }, () => new Float64Array(p));
    this.counts = new Int32Array(K);
  }

  /** Adds the estimate with batch rows `idx` of gradU / gradV (B x d each). */
  add(idx: Int32Array, gU: Matrix64, gV: Matrix64, n: number, d: number): void {
    const k = this.r % this.K;
    const s = this.sums[k]!;
    for (let r = 0; r < idx.length; r++) {
      const i = idx[r]!;
      for (let j = 0; j < d; j++) {
        const a = gU.data[r * d + j]!;
        const b = gV.data[r * d + j]!;
        s[i * d + j]! += a;
        s[(n + i) * d + j]! += b;
        this.sumSq += a * a + b * b;
      }
    }
    this.counts[k]!++;
    this.r++;
  }

  /** The estimates; turns the group sums into the group errors e_k in place (call once). */
  estimate(exact: Float64Array): BiasEstimate {
    const { K, p, r: R } = this;
    // Overall mean, raw bias and the variance trace first (they need the sums).
    let raw = 0;
    let meanSq = 0;
    for (let t = 0; t < p; t++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += this.sums[k]![t]!;
      const m = s / R;
      meanSq += m * m;
      raw += (m - exact[t]!) ** 2;
    }
    const e = this.sums.map((s, k) => {
      const c = this.counts[k]!;
      for (let t = 0; t < p; t++) s[t] = s[t]! / c - exact[t]!;
      return s;
    });
    const M = new Float64Array(K * K);
    for (let k = 0; k < K; k++) {
      for (let l = k; l < K; l++) {
        let s = 0;
        const a = e[k]!;
        const b = e[l]!;
        for (let t = 0; t < p; t++) s += a[t]! * b[t]!;
        M[k * K + l] = s;
        M[l * K + k] = s;
      }
    }
    let off = 0;
    const rowOff = new Float64Array(K);
    for (let k = 0; k < K; k++) {
      for (let l = 0; l < K; l++) {
        if (l === k) continue;
        off += M[k * K + l]!;
        rowOff[k]! += M[k * K + l]!;
      }
    }
    const D = off / (K * (K - 1));
    const jk = Array.from(rowOff, (ro) => (off - 2 * ro) / ((K - 1) * (K - 2)));
    const jm = jk.reduce((s, x) => s + x, 0) / K;
    const seD = Math.sqrt(((K - 1) / K) * jk.reduce((s, x) => s + (x - jm) ** 2, 0));
    const variance = Math.max(0, (this.sumSq - R * meanSq) / (R - 1));
    const naive = mutant('bias-without-noise-correction');
    const Dm = naive ? raw : D;
    const bias = Math.sqrt(Math.max(Dm, 0));
    return {
      bias,
      biasSE: Math.sqrt(Math.max(Dm, 0) + seD) - bias,
      biasSq: Dm,
      biasSqSE: seD,
      rawBias: Math.sqrt(raw),
      noise: Math.sqrt(variance / R),
      variance,
    };
  }
}

/** Ordinary least squares of log y on log x. */
export function fitPowerLaw(xs: readonly number[], ys: readonly number[]): PowerLawFit | null {
  const pts = xs.map((x, i) => [Math.log(x), Math.log(ys[i]!)] as const).filter(([, y]) => Number.isFinite(y));
  const k = pts.length;
  if (k < 2) return null;
  const mx = pts.reduce((s, [x]) => s + x, 0) / k;
  const my = pts.reduce((s, [, y]) => s + y, 0) / k;
  let sxx = 0;
  let sxy = 0;
  for (const [x, y] of pts) {
    sxx += (x - mx) ** 2;
    sxy += (x - mx) * (y - my);
  }
  if (!(sxx > 0)) return null;
  const slope = sxy / sxx;
  if (k < 3) return { slope, slopeSE: null, points: k };
  let rss = 0;
  for (const [x, y] of pts) rss += (y - my - slope * (x - mx)) ** 2;
  return { slope, slopeSE: Math.sqrt(rss / (k - 2) / sxx), points: k };
}

/** The seeded instance: U and V with independent uniformly random unit rows (N x d, float64). */
export function biasInstance(n: number, d: number, seed: number): { U: Matrix64; V: Matrix64 } {
  const rng = Rng.fromSeed(seed);
  return { U: normalizeRows(rng.fillNormalMatrix(n, d)), V: normalizeRows(rng.fillNormalMatrix(n, d)) };
}

export function checkBiasOptions(op: string, o: BiasOptions): void {
  assertPositiveInt(op, 'n', o.n, 2);
  assertPositiveInt(op, 'd', o.d, 1);
  assertTau(op, o.tau);
  assertNonNegative(op, 'eps0', o.eps0 ?? 0);
  assertPositiveInt(op, 'draws', o.draws, 4);
  if (!Number.isSafeInteger(o.seed) || o.seed < 0) throw new DomainError(op, `seed must be a safe integer >= 0, got ${o.seed}`);
  if (o.modality !== 'bimodal' && o.modality !== 'unimodal') throw new DomainError(op, `modality must be bimodal or unimodal, got ${String(o.modality)}`);
  if (o.batchSizes.length === 0) throw new DomainError(op, 'needs at least one batch size');
  const seen = new Set<number>();
  for (const B of o.batchSizes) {
    if (!Number.isInteger(B) || B < 2) throw new DomainError(op, `batch size B must be an integer >= 2 (every anchor needs a negative), got ${B}`);
    if (B > o.n) throw new DomainError(op, `batch size B = ${B} exceeds N = ${o.n}`);
    if (seen.has(B)) throw new DomainError(op, `batch size B = ${B} is listed twice`);
    seen.add(B);
  }
  biasGroups(op, o.n, o.d, o.draws);
}

/** The exact quantities at the instance, when the caller has them already (diagnose computes them once). */
export interface BiasExact {
  /** ∇F over U and V (float64, N·d each, row-major). */
  readonly gradU: Float64Array;
  readonly gradV: Float64Array;
  /** log g per anchor in the estimators' layout (bimodal: g1 then g2; unimodal: anchors u then v). */
  readonly logG: Float64Array;
}

export interface BiasAtOptions {
  readonly modality: Modality;
  readonly tau: number;
  readonly eps0?: number;
  readonly batchSizes: readonly number[];
  /** Batch draws R ≥ 4 per size: one number, or one per entry of batchSizes. */
  readonly draws: number | readonly number[];
  /** Names the draws' generator (`bias-draws:${seed}:${modality}:${B}`). */
  readonly seed: number;
  readonly backend?: Backend;
  readonly exact?: BiasExact;
  /** Called after each draw with (draws done over all sizes, total). */
  readonly onDraw?: (done: number, total: number) => void;
}

/** One size's result on the caller's embeddings: the estimates plus the mini-batch objective's mean. */
export interface BiasAtRow extends BiasRow {
  readonly draws: number;
  readonly groups: number;
  /** Mean over the draws of the mini-batch GCL F̂_B = (τ/(2B)) Σ_a log(ε₀ + ĝ_a) and its standard error. */
  readonly batchObjective: { readonly mean: number; readonly se: number };
}

/** Groups K of draws: min(20, R), fewer when 2 estimators x K x 2Nd float64 sums would pass BIAS_MAX_BYTES; at least 4. */
export function biasGroups(op: string, n: number, d: number, draws: number): number {
  const perGroup = 2 * 2 * n * d * 8;
  const K = Math.min(20, draws, Math.floor(BIAS_MAX_BYTES / perGroup));
  if (K < 4) {
    throw new DomainError(op, `N·d = ${n}·${d} needs ${((4 * perGroup) / 2 ** 20).toFixed(0)} MiB for the smallest estimate (2 estimators x 4 groups x 2Nd float64), over the ${BIAS_MAX_BYTES / 2 ** 20} MiB cap`);
  }
  return K;
}

/**
 * Bias and variance of the plug-in and exact-u SogCLR estimators at the caller's U, V (see the file
 * comment), plus the mean mini-batch objective of the draws (its gap to F is the Jensen gap).
 */
/** `value` is F at (U, V) when computed here, null when the caller passed `exact`. */
export function estimatorBiasAt(U: Matrix64, V: Matrix64, o: BiasAtOptions): { gradNorm: number; value: number | null; rows: BiasAtRow[] } {
  const op = 'estimatorBias';
  const { modality, tau, seed } = o;
  const n = U.rows;
  const d = U.cols;
  const eps0 = o.eps0 ?? 0;
  const drawsOf = (bi: number) => (typeof o.draws === 'number' ? o.draws : o.draws[bi]!);
  const own = o.backend === undefined;
  const backend = o.backend ?? createCpuBackend({ dtype: 'f64' });
  try {
    let exact: BiasExact;
    let value: number | null;
    if (o.exact) {
      exact = o.exact;
      value = null;
    } else {
      const F = (modality === 'bimodal' ? gclBimodalLossAndGrad : gclUnimodalLossAndGrad)(U, V, { tau, eps0, backend });
      // Exact u = g per anchor: the full data set is one "batch" of N.
      exact = { gradU: F.gradU!.data as Float64Array, gradV: F.gradV!.data as Float64Array, logG: batchPairs(modality, U, V, tau, backend).logG };
      value = F.value;
    }
    const p = 2 * n * d;
    const flat = new Float64Array(p);
    flat.set(exact.gradU.subarray(0, n * d), 0);
    flat.set(exact.gradV.subarray(0, n * d), n * d);
    let gradNorm = 0;
    for (let t = 0; t < p; t++) gradNorm += flat[t]! ** 2;
    const logG = exact.logG;
    const total = o.batchSizes.reduce((s, _, bi) => s + drawsOf(bi), 0);
    let done = 0;
    const rows: BiasAtRow[] = [];
    o.batchSizes.forEach((B, bi) => {
      const R = drawsOf(bi);
      const K = biasGroups(op, n, d, R);
      const rng = Rng.fromSeed(`bias-draws:${seed}:${modality}:${B}`);
      const accP = new Accumulator(p, K);
      const accS = new Accumulator(p, K);
      const logU = new Float64Array(2 * B);
      const fhat = new Float64Array(R);
      for (let r = 0; r < R; r++) {
        const idx = rng.sample(n, B);
        const pairs = batchPairs(modality, gatherRows(U, idx), gatherRows(V, idx), tau, backend);
        for (let k = 0; k < B; k++) {
          logU[k] = logG[idx[k]!]!;
          logU[B + k] = logG[n + idx[k]!]!;
        }
        const scale = tau / (2 * B);
        let f = 0;
        for (let a = 0; a < 2 * B; a++) f += logEpsPlusExp(eps0, pairs.logG[a]!);
        fhat[r] = scale * f;
        const gp = surrogateGrad(pairs, surrogateWeights(pairs.logG, null, eps0, scale));
        const gs = surrogateGrad(pairs, surrogateWeights(pairs.logG, logU, eps0, scale));
        accP.add(idx, gp.gradU, gp.gradV, n, d);
        accS.add(idx, gs.gradU, gs.gradV, n, d);
        o.onDraw?.(++done, total);
      }
      const mean = fhat.reduce((s, x) => s + x, 0) / R;
      const sd = Math.sqrt(fhat.reduce((s, x) => s + (x - mean) ** 2, 0) / (R - 1));
      rows.push({ B, plugin: accP.estimate(flat), sogclr: accS.estimate(flat), draws: R, groups: K, batchObjective: { mean, se: sd / Math.sqrt(R) } });
    });
    return { gradNorm: Math.sqrt(gradNorm), value, rows };
  } finally {
    if (own) backend.dispose();
  }
}

/**
 * Estimates, for each batch size, the bias and variance of the plug-in and of the exact-u SogCLR
 * estimators at the seeded instance of `biasInstance` (see the file comment for the statistics).
 *
 * @example
 *   const r = estimatorBias({ modality: 'bimodal', n: 256, d: 16, tau: 0.1, batchSizes: [4, 16, 64], draws: 200, seed: 1 });
 *   r.rows.map((x) => [x.B, x.plugin.bias, x.sogclr.biasSq / x.sogclr.biasSqSE]);
 */
export function estimatorBias(o: BiasOptions): BiasReport {
  const op = 'estimatorBias';
  checkBiasOptions(op, o);
  const { modality, n, d, tau, draws: R, seed } = o;
  const eps0 = o.eps0 ?? 0;
  const { U, V } = biasInstance(n, d, seed);
  const sizes = o.batchSizes;
  const r = estimatorBiasAt(U, V, {
    modality, tau, eps0, batchSizes: sizes, draws: R, seed, backend: o.backend,
    onDraw: o.onSize ? (done) => { if (done % R === 0) o.onSize!(done / R, sizes.length); } : undefined,
  });
  const rows: BiasRow[] = r.rows.map((x) => ({ B: x.B, plugin: x.plugin, sogclr: x.sogclr }));
  const fitRows = rows.filter((x) => x.plugin.biasSq > 0);
  const fit = fitPowerLaw(fitRows.map((x) => x.B), fitRows.map((x) => x.plugin.bias));
  return { modality, n, d, tau, eps0, draws: R, groups: r.rows[0]!.groups, seed, gradNorm: r.gradNorm, rows, fit };
}
