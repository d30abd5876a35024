/**
 * gradcheck: is a gradient (e.g. the sum over the ranks of a distributed step) the gradient of the
 * global objective at (U, V), and if not, which known implementation mistake does it match?
 *
 * Objectives (THEORY 2.1, 2.3), S = U Vᵀ/τ, float64 throughout:
 *   infonce       L = (1/(2N)) Σ_i [(lse_row_i − S_ii) + (lse_col_i − S_ii)]
 *   gcl-bimodal   F = (τ/(2N)) Σ_i [log(ε₀ + g1_i) + log(ε₀ + g2_i)],
 *                 g1_i = (1/(N−1)) Σ_{j≠i} exp(S_ij − S_ii), g2_i the same over column i
 *   gcl-unimodal  Z = [U; V], S = Z Zᵀ/τ, p(a) = a ± N,
 *                 g_a = (1/(2N−2)) Σ_{z∉{a,p(a)}} exp(S_az − S_a,p(a)),  F = (τ/(2N)) Σ_a log(ε₀ + g_a)
 *
 * Every term is an anchor (a row i of S, or a column j) with one positive pos and a softmax over its
 * included entries (all of them for InfoNCE, all but the positive for GCL, all but a and p(a) for the
 * unimodal one). With ω the anchor's weight (c for InfoNCE, c·τ·w for GCL, w = g/(ε₀ + g), c = 1/(2N)):
 *   ∂L/∂S_ij = ω·softmax_ij over the included j, minus ω at j = pos.
 * Split ∂L/∂S = dR + dC into the row-anchor terms dR (owned by the row's shard) and the column-anchor
 * terms dC (owned by the column's shard). K workers, shard k the contiguous rows [kN/K, (k+1)N/K)
 * (THEORY 9.5); M_ij = 1 when i and j lie in the same shard:
 *   gradU = (dR + M∘dC) V/τ,   gradV = (dC + M∘dR)ᵀ U/τ          (a plain all_gather)
 * and M = all ones with gather-with-grad: then this is ∇L. Unimodal: on Z, shard k owning rows a and
 * a + N for a in shard k: gradZ = dS Z/τ + (M∘dS)ᵀ Z/τ.
 *
 * `emulateShardedStep` computes this exactly over a materialised S (the backend's gemm, every
 * log-sum-exp max-shifted), parametrised by the mistake's flags, with the value of the mistaken loss
 * (and per shard, since a plain all_gather gives each shard the gradient of its own L_k in its own
 * rows), so that each candidate can be checked against finite differences. The candidates:
 *   global / summed-directions / scaled   ∇L itself, fitted scale ≈ 1 / ≈ 2 (two-sided only) / other
 *                                          (all-reduce sum vs mean: K or 1/K)
 *   local-without-gather-grad             M = same-shard mask (K > 1)
 *   rank-offset                           labels arange(N/K) on every shard: shard k's anchor i
 *                                         (local index l = i − kN/K) has positive column l / row l,
 *                                         in both directions (K > 1, two-sided objectives; for GCL
 *                                         the wrong positive is also the one excluded)
 *   one-direction                         only the row (u → v) or only the column (v → u) terms
 *   missing-inv-tau                       the objective's gradient at τ = 1 (skipped when τ = 1)
 *
 * Matching, each candidate c up to a scalar (U and V together, Frobenius norms):
 *   s = ⟨g, c⟩/⟨c, c⟩,   residual = ‖g − s·c‖_F / ‖s·c‖_F,   matched ⟺ residual ≤ tolerance.
 * Tolerance ("rounding level", ε of the gradient's dtype: 2^-23 for float32, 2^-52 for float64):
 *   tolerance = 16·ε·(1 + max|S|)·√(1 + d)
 * ε·max|S| is the conditioning floor of every softmax entry (src/backend/tolerance.ts: rounding a
 * logit by ε·|S| moves exp by that much relative); √(1 + d) covers the accumulated rounding of the
 * logits (length-d dot products) at its typical random-walk size; 16 is the margin.
 * Measured (tests/independent/gradcheck.test.ts: numpy, 12 clustered groups of random sizes, unit
 * rows, N = 4096, d = 128, τ = 0.1, K = 4, max|S| = 9.64 (10 for gcl-unimodal), so tolerance =
 * 2.3e-4 for float32 and 4.3e-13 for float64): a correct gradient computed in float32 by a numpy
 * K-worker step has residual 2.4e-7 to 5.1e-7 (infonce, every mistake built correctly) and 1.5e-6
 * (gcl-bimodal, gcl-unimodal, ε₀ = 0.05): 150x or more below the tolerance; in float64, 7e-16 to
 * 2.6e-15 (165x below). The smallest residual of a wrong candidate there was 1.2e-1 (one-direction
 * against the global gradient; the others 0.4 to 30), 500x above the float32 tolerance. (On unstructured
 * data, N = 4096 uniformly random unit rows in d = 128, one direction comes within 9.8e-4 of the
 * global gradient up to scale: still 4x above the float32 tolerance.)
 * When several candidates match (degenerate points), all are reported as matched and the verdict is
 * the first in the order global/summed-directions/scaled, local-without-gather-grad, rank-offset,
 * one-direction, missing-inv-tau.
 */
import { createCpuBackend } from '../backend/cpu/index.ts';
import type { Backend } from '../backend/types.ts';
import { assertMatricesFit } from '../core/budget.ts';
import { ConfigError, DomainError, ShapeError } from '../core/errors.ts';
import { dtypeOf, type DType, matrix, type Matrix, type Matrix64, shapeStr, toContiguous, transpose, zeros } from '../core/matrix.ts';
import { assertFiniteMatrix, assertNonEmpty, assertNonNegative, assertPositiveInt, assertTau } from '../core/validate.ts';
import { accurateSum, epsWeight, logEpsPlusExp } from '../objectives/common.ts';
import { evaluateObjective } from '../objectives/index.ts';
import { CompensatedSum } from '../core/compensatedSum.ts';

export type GradcheckObjective = 'infonce' | 'gcl-bimodal' | 'gcl-unimodal';
export const GRADCHECK_OBJECTIVES: readonly GradcheckObjective[] = ['infonce', 'gcl-bimodal', 'gcl-unimodal'];

/** The mistakes a candidate gradient stands for. */
export type MistakeName = 'scaled' | 'local-without-gather-grad' | 'rank-offset' | 'summed-directions' | 'one-direction' | 'missing-inv-tau';
export type GradcheckVerdict = 'global' | MistakeName | 'unexplained';
/** Order in which matched candidates decide the verdict. */
export const VERDICT_ORDER: readonly (GradcheckVerdict)[] = ['global', 'summed-directions', 'scaled', 'local-without-gather-grad', 'rank-offset', 'one-direction', 'missing-inv-tau'];

export interface EmulatorFlags {
  readonly objective: GradcheckObjective;
  /** The temperature the logits are divided by (1 emulates missing-inv-tau). */
  readonly tau: number;
  /** ε₀ of the GCL objectives (default 0). */
  readonly eps0?: number;
  /** K workers, K divides N (default 1). */
  readonly shards?: number;
  /** Whether the gathered copies carry gradient back to their owners (default true). */
  readonly gatherWithGrad?: boolean;
  /** 'global': positive of anchor i is i; 'rank-offset': i − kN/K on shard k (two-sided only). */
  readonly labels?: 'global' | 'rank-offset';
  /** Two-sided objectives: 'mean' of the two directions (the objective), their 'sum', or only the 'row' (u → v) or 'col' (v → u) one (each normalised 1/N). */
  readonly directions?: 'mean' | 'sum' | 'row' | 'col';
}

export interface EmulatedStep {
  /** The mistaken loss: Σ_k L_k. */
  readonly value: number;
  /** L_k: the terms of the anchors shard k owns. */
  readonly shardValues: Float64Array;
  /** What the owners of the rows hold after the backward pass (summed over the workers), float64. */
  readonly gradU: Matrix64;
  readonly gradV: Matrix64;
  /** max |S_ij| over the materialised logits (S = ZZᵀ/τ for gcl-unimodal). */
  readonly maxAbsS: number;
}

function shardOfRows(n: number, K: number): Int32Array {
  const s = new Int32Array(n);
  const m = n / K;
  for (let i = 0; i < n; i++) s[i] = Math.floor(i / m);
  return s;
}

/** A contiguous row-major view of a Float64Array. */
const view = (data: Float64Array, rows: number, cols: number): Matrix64 => matrix(data, rows, cols);

/** Checks (U, V) and the flags; returns contiguous float64 copies. */
function prepareEmulator(op: string, Uin: Matrix, Vin: Matrix, f: EmulatorFlags): { U: Matrix64; V: Matrix64; n: number; d: number; K: number; eps0: number } {
  if (!(GRADCHECK_OBJECTIVES as readonly string[]).includes(f.objective)) {
    throw new ConfigError(op, `objective must be one of ${GRADCHECK_OBJECTIVES.join(', ')}, got '${String(f.objective)}'`);
  }
  assertTau(op, f.tau);
  assertNonEmpty(op, 'U', Uin);
  if (Uin.rows !== Vin.rows || Uin.cols !== Vin.cols) throw new ShapeError(op, `U is ${shapeStr(Uin)} but V is ${shapeStr(Vin)}`);
  assertFiniteMatrix(op, 'U', Uin);
  assertFiniteMatrix(op, 'V', Vin);
  const n = Uin.rows;
  const d = Uin.cols;
  if (n < 2) throw new DomainError(op, `needs N >= 2 pairs, got N = ${n}`);
  const eps0 = f.eps0 ?? 0;
  assertNonNegative(op, 'eps0', eps0);
  const K = f.shards ?? 1;
  assertPositiveInt(op, 'shards', K);
  if (n % K !== 0) throw new ConfigError(op, `shards ${K} does not divide N = ${n}`);
  const dirs = f.directions ?? 'mean';
  if (f.objective === 'gcl-unimodal' && (dirs !== 'mean' || (f.labels ?? 'global') !== 'global')) {
    throw new ConfigError(op, `gcl-unimodal has no directions and no per-rank labels (got directions '${dirs}', labels '${f.labels}')`);
  }
  return { U: toContiguous(Uin, 'f64') as Matrix64, V: toContiguous(Vin, 'f64') as Matrix64, n, d, K, eps0 };
}

/** Max-shifted log-sum-exp of the `len` logits x[off + t·stride], the entries t = ex1 and t = ex2 left out (−1: none). */
function anchorLse(x: Float64Array, off: number, stride: number, len: number, ex1: number, ex2: number): number {
  let m = -Infinity;
  for (let t = 0; t < len; t++) if (t !== ex1 && t !== ex2) m = Math.max(m, x[off + t * stride]!);
  let s = 0;
  for (let t = 0; t < len; t++) if (t !== ex1 && t !== ex2) s += Math.exp(x[off + t * stride]! - m);
  return m + Math.log(s);
}

/**
 * The K-worker step of the flags, exactly in float64 (see the header). `backend`: a float64 kernel
 * table for the gemms (default: a blocked CPU backend created and disposed here).
 */
export function emulateShardedStep(Uin: Matrix, Vin: Matrix, flags: EmulatorFlags, backend?: Backend): EmulatedStep {
  const op = 'emulateShardedStep';
  const { U, V, n, d, K, eps0 } = prepareEmulator(op, Uin, Vin, flags);
  if (backend !== undefined && backend.dtype !== 'f64') throw new ConfigError(op, `needs a float64 backend, got ${backend.dtype}`);
  const be = backend ?? createCpuBackend({ dtype: 'f64' });
  try {
    return flags.objective === 'gcl-unimodal'
      ? emulateUnimodal(op, U, V, n, d, K, flags.tau, eps0, flags.gatherWithGrad ?? true, be)
      : emulateTwoSided(op, U, V, n, K, flags, eps0, be);
  } finally {
    if (backend === undefined) be.dispose();
  }
}

/** The products of the split ∂L/∂S = dR + dC of one two-sided pass (all divided by τ). */
interface TwoSidedParts {
  readonly value: { rows: Float64Array; cols: Float64Array };
  /** dR V/τ, dRᵀ U/τ, dC V/τ, dCᵀ U/τ (null when that direction is off; when combined, RV and RtU hold (dR + dC) and CV, CtU are null). */
  readonly RV: Matrix64 | null;
  readonly RtU: Matrix64 | null;
  readonly CV: Matrix64 | null;
  readonly CtU: Matrix64 | null;
  /** The same-shard parts (M∘dC) V/τ and (M∘dR)ᵀ U/τ (null unless asked for). */
  readonly MCV: Matrix64 | null;
  readonly MRtU: Matrix64 | null;
  readonly maxAbsS: number;
}

/**
 * One pass over the materialised S of a two-sided objective: the anchors' log-sum-exps (max-shifted;
 * the exponentials kept and rescaled into dR and dC, so each entry is exponentiated once per
 * direction), the per-anchor terms of the loss and the gemms of the split gradient.
 */
function twoSidedParts(op: string, U: Matrix64, V: Matrix64, n: number, K: number, f: EmulatorFlags, eps0: number, be: Backend, wantMasked: boolean, combined = false): TwoSidedParts {
  const tau = f.tau;
  const gcl = f.objective === 'gcl-bimodal';
  const dirs = f.directions ?? 'mean';
  const cRow = dirs === 'mean' ? 1 / (2 * n) : dirs === 'col' ? 0 : 1 / n;
  const cCol = dirs === 'mean' ? 1 / (2 * n) : dirs === 'row' ? 0 : 1 / n;
  assertMatricesFit(op, `the materialised S = UVᵀ/τ and ∂L/∂S (N = ${n})`, n, n, 8, cRow !== 0 && cCol !== 0 ? 2 : 1);
  const S = new Float64Array(n * n);
  be.kernels.gemm(1 / tau, U, transpose(V), 0, view(S, n, n));
  let maxAbsS = 0;
  for (let t = 0; t < S.length; t++) maxAbsS = Math.max(maxAbsS, Math.abs(S[t]!));
  const shard = shardOfRows(n, K);
  const m = n / K;
  // Positive of anchor i (row i, and column i): i, or its local index on its shard.
  const pos = new Int32Array(n);
  for (let i = 0; i < n; i++) pos[i] = f.labels === 'rank-offset' ? i - shard[i]! * m : i;
  const sPosR = new Float64Array(n);
  const sPosC = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    sPosR[i] = S[i * n + pos[i]!]!;
    sPosC[i] = S[pos[i]! * n + i]!;
  }
  const logM = Math.log(n - 1);
  /** ω and the loss term of an anchor from its lse and positive logit. */
  const weigh = (lse: number, sPos: number, c: number): [number, number] => {
    if (!gcl) return [c, c * (lse - sPos)];
    const lg = lse - sPos - logM;
    return [c * tau * epsWeight(eps0, lg), c * tau * logEpsPlusExp(eps0, lg)];
  };
  const termsR = new Float64Array(n);
  const termsC = new Float64Array(n);
  // Row anchors: R_ij = exp(S_ij − max_i) for the included j, then ω_i·R_ij/Σ_j R_ij − ω_i at j = pos_i.
  let R: Float64Array | null = null;
  if (cRow !== 0) {
    R = cCol !== 0 ? new Float64Array(n * n) : S;
    for (let i = 0; i < n; i++) {
      const off = i * n;
      const ex = gcl ? pos[i]! : -1;
      let mx = -Infinity;
      for (let j = 0; j < n; j++) if (j !== ex) mx = Math.max(mx, S[off + j]!);
      let sum = 0;
      for (let j = 0; j < n; j++) {
        const e = j === ex ? 0 : Math.exp(S[off + j]! - mx);
        R[off + j] = e;
        sum += e;
      }
      const [w, term] = weigh(mx + Math.log(sum), sPosR[i]!, cRow);
      termsR[i] = term;
      const q = w / sum;
      for (let j = 0; j < n; j++) R[off + j]! *= q;
      R[off + pos[i]!] -= w;
    }
  }
  // Column anchors (S is row-major): maxima and sums accumulated over the rows, C written over S.
  let C: Float64Array | null = null;
  if (cCol !== 0) {
    C = S;
    const colMax = new Float64Array(n).fill(-Infinity);
    const colSum = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const off = i * n;
      for (let j = 0; j < n; j++) if (!(gcl && i === pos[j])) colMax[j] = Math.max(colMax[j]!, S[off + j]!);
    }
    for (let i = 0; i < n; i++) {
      const off = i * n;
      for (let j = 0; j < n; j++) {
        const e = gcl && i === pos[j] ? 0 : Math.exp(S[off + j]! - colMax[j]!);
        C[off + j] = e;
        colSum[j] += e;
      }
    }
    const q = new Float64Array(n);
    const wC = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const [w, term] = weigh(colMax[j]! + Math.log(colSum[j]!), sPosC[j]!, cCol);
      termsC[j] = term;
      wC[j] = w;
      q[j] = w / colSum[j]!;
    }
    for (let i = 0; i < n; i++) {
      const off = i * n;
      for (let j = 0; j < n; j++) C[off + j]! *= q[j]!;
    }
    for (let j = 0; j < n; j++) C[pos[j]! * n + j] -= wC[j]!;
  }
  const d = U.cols;
  if (combined && R !== null && C !== null) {
    // Only the sum is needed (gather-with-grad): G = dR + dC, two gemms instead of four.
    for (let t = 0; t < R.length; t++) R[t] += C[t]!;
    C = null;
  }
  const prod = (X: Float64Array | null, t: boolean, W: Matrix64): Matrix64 | null => {
    if (X === null) return null;
    const out = zeros(n, d);
    const Xm = view(X, n, n);
    be.kernels.gemm(1 / tau, t ? transpose(Xm) : Xm, W, 0, out);
    return out;
  };
  /** Σ over the diagonal blocks: (M∘X) W or (M∘X)ᵀ W, one gemm per shard. */
  const blockProd = (X: Float64Array | null, t: boolean, W: Matrix64): Matrix64 | null => {
    if (X === null) return null;
    const out = zeros(n, d);
    for (let k = 0; k < K; k++) {
      const blk = { data: X, rows: m, cols: m, rowStride: n, colStride: 1, offset: k * m * n + k * m };
      const Wk = { data: W.data, rows: m, cols: d, rowStride: d, colStride: 1, offset: k * m * d };
      const Ok = { data: out.data, rows: m, cols: d, rowStride: d, colStride: 1, offset: k * m * d };
      be.kernels.gemm(1 / tau, t ? transpose(blk) : blk, Wk, 0, Ok);
    }
    return out;
  };
  return {
    value: { rows: termsR, cols: termsC },
    RV: prod(R, false, V), RtU: prod(R, true, U), CV: prod(C, false, V), CtU: prod(C, true, U),
    MCV: wantMasked ? blockProd(C, false, V) : null, MRtU: wantMasked ? blockProd(R, true, U) : null,
    maxAbsS,
  };
}

function addInto(...ms: (Matrix64 | null)[]): Matrix64 {
  const present = ms.filter((x): x is Matrix64 => x !== null);
  const out = zeros(present[0]!.rows, present[0]!.cols);
  for (const x of present) for (let t = 0; t < out.data.length; t++) out.data[t] += x.data[t]!;
  return out;
}

function valuesOf(n: number, K: number, rows: Float64Array, cols: Float64Array, factor = 1): { value: number; shardValues: Float64Array } {
  const m = n / K;
  const shardValues = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    const t: number[] = [];
    for (let i = k * m; i < (k + 1) * m; i++) t.push(factor * rows[i]!, factor * cols[i]!);
    shardValues[k] = accurateSum(t);
  }
  return { value: accurateSum(shardValues), shardValues };
}

/** gradU = dR V/τ + (dC or M∘dC) V/τ, gradV = dCᵀ U/τ + (dR or M∘dR)ᵀ U/τ. */
function combine(p: TwoSidedParts, n: number, K: number, withGrad: boolean): EmulatedStep {
  const { value, shardValues } = valuesOf(n, K, p.value.rows, p.value.cols);
  const gradU = addInto(p.RV, withGrad ? p.CV : p.MCV);
  const gradV = addInto(p.CtU, withGrad ? p.RtU : p.MRtU);
  return { value, shardValues, gradU, gradV, maxAbsS: p.maxAbsS };
}

function emulateTwoSided(op: string, U: Matrix64, V: Matrix64, n: number, K: number, f: EmulatorFlags, eps0: number, be: Backend): EmulatedStep {
  const withGrad = f.gatherWithGrad ?? true;
  return combine(twoSidedParts(op, U, V, n, K, f, eps0, be, !withGrad, withGrad), n, K, withGrad);
}

/**
 * The candidates that share one pass of the two-sided emulator (correct labels, the two directions
 * weighted 1/(2N)): the global step, the plain all_gather step, and each direction alone
 * (2·dR, 2·dC: the one-direction losses normalised 1/N). Equal to emulateShardedStep with the
 * corresponding flags (the factor 2 is exact).
 */
export function twoSidedFamily(U: Matrix, V: Matrix, opts: GradcheckOptions, backend: Backend): { global: EmulatedStep; noGather: EmulatedStep; row: EmulatedStep; col: EmulatedStep } {
  const op = 'gradcheck';
  const f = flagsFor('global', opts);
  const { U: U64, V: V64, n, K, eps0 } = prepareEmulator(op, U, V, f);
  if (f.objective === 'gcl-unimodal') throw new ConfigError(op, 'twoSidedFamily is for the two-sided objectives');
  const p = twoSidedParts(op, U64, V64, n, K, f, eps0, backend, K > 1);
  const zero = new Float64Array(n);
  const twice = (x: Matrix64 | null): Matrix64 => {
    const out = addInto(x);
    for (let t = 0; t < out.data.length; t++) out.data[t]! *= 2;
    return out;
  };
  return {
    global: combine(p, n, K, true),
    noGather: K > 1 ? combine(p, n, K, false) : combine(p, n, K, true),
    row: { ...valuesOf(n, K, p.value.rows, zero, 2), gradU: twice(p.RV), gradV: twice(p.RtU), maxAbsS: p.maxAbsS },
    col: { ...valuesOf(n, K, zero, p.value.cols, 2), gradU: twice(p.CV), gradV: twice(p.CtU), maxAbsS: p.maxAbsS },
  };
}

function emulateUnimodal(op: string, U: Matrix64, V: Matrix64, n: number, d: number, K: number, tau: number, eps0: number, withGrad: boolean, be: Backend): EmulatedStep {
  const n2 = 2 * n;
  assertMatricesFit(op, `the materialised S = ZZᵀ/τ (2N = ${n2})`, n2, n2, 8);
  const Z = zeros(n2, d);
  Z.data.set(U.data.subarray(0, n * d), 0);
  Z.data.set(V.data.subarray(0, n * d), n * d);
  const S = new Float64Array(n2 * n2);
  be.kernels.gemm(1 / tau, Z, transpose(Z), 0, view(S, n2, n2));
  let maxAbsS = 0;
  for (let t = 0; t < S.length; t++) maxAbsS = Math.max(maxAbsS, Math.abs(S[t]!));
  const shard = shardOfRows(n, K);
  const own = (a: number) => shard[a % n]!;
  const logM = Math.log(n2 - 2);
  const c = 1 / (2 * n);
  const terms = new Float64Array(n2);
  // Each row a of S becomes row a of ∂F/∂S in place.
  for (let a = 0; a < n2; a++) {
    const p = (a + n) % n2;
    const off = a * n2;
    const l = anchorLse(S, off, 1, n2, a, p);
    const lg = l - S[off + p]! - logM;
    terms[a] = c * tau * logEpsPlusExp(eps0, lg);
    const w = c * tau * epsWeight(eps0, lg);
    for (let z = 0; z < n2; z++) S[off + z] = z === a ? 0 : z === p ? -w : w * Math.exp(S[off + z]! - l);
  }
  const shardValues = new Float64Array(K);
  const perShard = Array.from({ length: K }, () => [] as number[]);
  for (let a = 0; a < n2; a++) perShard[own(a)]!.push(terms[a]!);
  for (let k = 0; k < K; k++) shardValues[k] = accurateSum(perShard[k]!);
  const value = accurateSum(shardValues);
  const gZ = zeros(n2, d);
  // The anchor's own row: dS Z/τ; the other rows through the gathered copies: (M∘dS)ᵀ Z/τ.
  be.kernels.gemm(1 / tau, view(S, n2, n2), Z, 0, gZ);
  if (!withGrad) {
    for (let a = 0; a < n2; a++) for (let z = 0; z < n2; z++) if (own(a) !== own(z)) S[a * n2 + z] = 0;
  }
  be.kernels.gemm(1 / tau, transpose(view(S, n2, n2)), Z, 1, gZ);
  const gradU = zeros(n, d);
  const gradV = zeros(n, d);
  gradU.data.set(gZ.data.subarray(0, n * d));
  gradV.data.set(gZ.data.subarray(n * d));
  return { value, shardValues, gradU, gradV, maxAbsS };
}

export interface GradcheckOptions {
  readonly objective: GradcheckObjective;
  readonly tau: number;
  readonly eps0?: number;
  /** K workers the gradient came from (default 1); K divides N. */
  readonly shards?: number;
  /** The dtype the gradient was stored in (sets ε of the tolerance); default: f32 if either gradient is float32. */
  readonly gradDtype?: DType;
}

/** Candidate names a mistake's gradient is built under (one-direction has two). */
export type CandidateGradientName = 'global' | 'local-without-gather-grad' | 'rank-offset' | 'one-direction-row' | 'one-direction-col' | 'missing-inv-tau' | 'summed-directions';

function flagsFor(name: CandidateGradientName, o: GradcheckOptions): EmulatorFlags {
  const base = { objective: o.objective, tau: o.tau, eps0: o.eps0 ?? 0, shards: o.shards ?? 1 };
  switch (name) {
    case 'global': return base;
    case 'summed-directions': return { ...base, directions: 'sum' };
    case 'local-without-gather-grad': return { ...base, gatherWithGrad: false };
    case 'rank-offset': return { ...base, labels: 'rank-offset' };
    case 'one-direction-row': return { ...base, directions: 'row' };
    case 'one-direction-col': return { ...base, directions: 'col' };
    case 'missing-inv-tau': return { ...base, tau: 1 };
    default: throw new ConfigError('mistakeGradient', `unknown candidate '${String(name)}'`);
  }
}

/** The gradient a mistake produces at (U, V) (the emulator with that mistake's flags; 'global' = no mistake). */
export function mistakeGradient(name: CandidateGradientName, U: Matrix, V: Matrix, opts: GradcheckOptions, backend?: Backend): EmulatedStep {
  return emulateShardedStep(U, V, flagsFor(name, opts), backend);
}

export interface CandidateResult {
  readonly name: GradcheckVerdict;
  /** s = ⟨g, c⟩/⟨c, c⟩. */
  readonly scale: number;
  /** ‖g − s·c‖_F / ‖s·c‖_F. */
  readonly residual: number;
  readonly matched: boolean;
  readonly detail: string;
}

export interface GradcheckReport {
  readonly verdict: GradcheckVerdict;
  readonly scale: number;
  readonly residual: number;
  readonly tolerance: number;
  readonly objective: GradcheckObjective;
  readonly n: number;
  readonly d: number;
  readonly tau: number;
  readonly eps0: number;
  readonly shards: number;
  readonly gradDtype: DType;
  /** max |S_ij| of the instance (the conditioning in the tolerance). */
  readonly maxAbsS: number;
  readonly candidates: readonly CandidateResult[];
  readonly notTested: readonly { name: MistakeName; reason: string }[];
}

/** Machine epsilon of the gradient's dtype. */
const EPS: Record<DType, number> = { f32: 2 ** -23, f64: 2 ** -52 };

/** The matching tolerance of the header: 16·ε·(1 + max|S|)·√(1 + d). */
export function gradcheckTolerance(dtype: DType, maxAbsS: number, d: number): number {
  return 16 * EPS[dtype] * (1 + maxAbsS) * Math.sqrt(1 + d);
}

function at(m: Matrix, i: number, j: number): number {
  return m.data[m.offset + i * m.rowStride + j * m.colStride]!;
}

/** s and the residual of g ≈ s·c over U and V together (see the header). */
export function fitScale(gU: Matrix, gV: Matrix, cU: Matrix, cV: Matrix): { scale: number; residual: number } {
  const gc = new CompensatedSum();
  const cc = new CompensatedSum();
  for (const [g, c] of [[gU, cU], [gV, cV]] as const) {
    for (let i = 0; i < g.rows; i++) {
      for (let j = 0; j < g.cols; j++) {
        const x = at(g, i, j);
        const y = at(c, i, j);
        gc.add(x * y);
        cc.add(y * y);
      }
    }
  }
  if (cc.value === 0) {
    let gz = true;
    for (const g of [gU, gV]) for (let i = 0; i < g.rows; i++) for (let j = 0; j < g.cols; j++) if (at(g, i, j) !== 0) gz = false;
    return gz ? { scale: 1, residual: 0 } : { scale: 0, residual: Infinity };
  }
  const s = gc.value / cc.value;
  const num = new CompensatedSum();
  for (const [g, c] of [[gU, cU], [gV, cV]] as const) {
    for (let i = 0; i < g.rows; i++) {
      for (let j = 0; j < g.cols; j++) {
        const r = at(g, i, j) - s * at(c, i, j);
        num.add(r * r);
      }
    }
  }
  const den = Math.abs(s) * Math.sqrt(cc.value);
  return { scale: s, residual: den === 0 ? Infinity : Math.sqrt(num.value) / den };
}

const near = (s: number, target: number, tol: number) => Math.abs(s - target) <= tol * Math.abs(target);
const g4 = (x: number) => (Number.isFinite(x) ? x.toPrecision(4) : String(x));

/**
 * Checks gradU, gradV against the global objective's gradient at (U, V) and against every candidate
 * mistake (see the header). All four matrices must be N x d.
 */
export function gradcheck(U: Matrix, V: Matrix, gradU: Matrix, gradV: Matrix, opts: GradcheckOptions): GradcheckReport {
  const op = 'gradcheck';
  for (const [name, m] of [['V', V], ['gradU', gradU], ['gradV', gradV]] as const) {
    if (m.rows !== U.rows || m.cols !== U.cols) throw new ShapeError(op, `U is ${shapeStr(U)} but ${name} is ${shapeStr(m)}`);
  }
  assertFiniteMatrix(op, 'gradU', gradU);
  assertFiniteMatrix(op, 'gradV', gradV);
  const { objective, tau } = opts;
  const eps0 = opts.eps0 ?? 0;
  const K = opts.shards ?? 1;
  const gradDtype: DType = opts.gradDtype ?? (dtypeOf(gradU) === 'f32' || dtypeOf(gradV) === 'f32' ? 'f32' : 'f64');
  const n = U.rows;
  const d = U.cols;
  const twoSided = objective !== 'gcl-unimodal';
  const o: GradcheckOptions = { objective, tau, eps0, shards: K };
  const be = createCpuBackend({ dtype: 'f64' });
  try {
    // The candidates' fits first (each emulation validates the inputs: objective, τ, ε₀, K | N,
    // finite U and V), then the tolerance from max|S| of the instance.
    let maxAbsS = -1;
    const emulate = (name: CandidateGradientName): EmulatedStep => {
      const r = mistakeGradient(name, U, V, o, be);
      if (maxAbsS < 0) maxAbsS = name === 'missing-inv-tau' ? r.maxAbsS / tau : r.maxAbsS;
      return r;
    };
    type Fit = { name: GradcheckVerdict; scale: number; residual: number; detail: string };
    const fits: Fit[] = [];
    const notTested: { name: MistakeName; reason: string }[] = [];
    const fitOf = (name: MistakeName, cg: EmulatedStep, detail: string) => fits.push({ name, ...fitScale(gradU, gradV, cg.gradU, cg.gradV), detail });
    // The two-sided objectives: the global step, the plain all_gather step and each direction alone from one pass.
    const fam = twoSided ? twoSidedFamily(U, V, o, be) : null;
    if (fam) maxAbsS = fam.global.maxAbsS;
    if (K > 1) {
      fitOf('local-without-gather-grad', fam ? fam.noGather : emulate('local-without-gather-grad'),
        `plain all_gather: the gathered features carry no gradient back to the ${K} shards that own them`);
    } else notTested.push({ name: 'local-without-gather-grad', reason: 'needs K > 1 shards (--shards)' });
    if (!twoSided) notTested.push({ name: 'rank-offset', reason: 'defined for the two-sided objectives (per-rank labels of a CLIP-style loss), not gcl-unimodal' });
    else if (K > 1) {
      fitOf('rank-offset', emulate('rank-offset'), `labels arange(N/K) on every shard instead of arange(N/K) + rank·N/K (K = ${K})`);
    } else notTested.push({ name: 'rank-offset', reason: 'needs K > 1 shards (--shards)' });
    if (fam) {
      const fr = fitScale(gradU, gradV, fam.row.gradU, fam.row.gradV);
      const fc = fitScale(gradU, gradV, fam.col.gradU, fam.col.gradV);
      fits.push(fr.residual <= fc.residual ? { name: 'one-direction', ...fr, detail: 'row direction only (u → v)' } : { name: 'one-direction', ...fc, detail: 'column direction only (v → u)' });
    } else notTested.push({ name: 'one-direction', reason: 'gcl-unimodal has no two directions' });
    if (tau !== 1) fitOf('missing-inv-tau', emulate('missing-inv-tau'), 'logits not divided by τ (the gradient at τ = 1)');
    else notTested.push({ name: 'missing-inv-tau', reason: 'τ = 1: dividing by τ changes nothing' });
    if (maxAbsS < 0) emulate('global');
    const tolerance = gradcheckTolerance(gradDtype, maxAbsS, d);

    // The true gradient: the blocked objective.
    const glob = evaluateObjective({ name: objective, tau, eps0: objective === 'infonce' ? undefined : eps0 }, U, V, { backend: be });
    const cands: CandidateResult[] = [];
    const g = fitScale(gradU, gradV, glob.gradU!, glob.gradV!);
    const gMatch = g.residual <= tolerance;
    const isOne = near(g.scale, 1, tolerance);
    const isTwo = twoSided && near(g.scale, 2, tolerance);
    cands.push({ name: 'global', ...g, matched: gMatch && isOne, detail: 'the gradient of the global objective (scale 1)' });
    if (twoSided) {
      cands.push({
        name: 'summed-directions', ...g, matched: gMatch && isTwo,
        detail: `the two directions summed instead of averaged: 2x the global gradient${K === 2 ? ' (indistinguishable from K = 2 workers with an all-reduce sum instead of a mean)' : ''}`,
      });
    } else notTested.unshift({ name: 'summed-directions', reason: 'gcl-unimodal has no two directions' });
    let why = 'the global gradient times a scalar other than 1';
    if (K > 1 && near(g.scale, K, tolerance)) why = `scale ≈ K = ${K}: an all-reduce sum instead of a mean (or all_gather's backward scaling)`;
    else if (K > 1 && near(g.scale, 1 / K, tolerance)) why = `scale ≈ 1/K = 1/${K}: gradients averaged once too often`;
    else if (g.scale < 0) why = 'a negative scale: the sign of the gradient is flipped';
    cands.push({ name: 'scaled', ...g, matched: gMatch && !isOne && !isTwo, detail: why });
    for (const f of fits) cands.push({ ...f, matched: f.residual <= tolerance });

    const winner = VERDICT_ORDER.map((v) => cands.find((c) => c.name === v && c.matched)).find((c) => c !== undefined);
    const verdict: GradcheckVerdict = winner ? winner.name : 'unexplained';
    const chosen = winner ?? { scale: g.scale, residual: g.residual };
    return {
      verdict, scale: chosen.scale, residual: chosen.residual, tolerance, objective, n, d, tau, eps0, shards: K, gradDtype,
      maxAbsS, candidates: cands, notTested,
    };
  } finally {
    be.dispose();
  }
}

/** One line naming the verdict in words. */
export function describeVerdict(r: GradcheckReport): string {
  const c = r.candidates.find((x) => x.name === r.verdict);
  switch (r.verdict) {
    case 'global': return `global: the gradient of the global ${r.objective} objective`;
    case 'unexplained': return `unexplained: neither the global ${r.objective} gradient (best scale ${g4(r.scale)}, residual ${g4(r.residual)}) nor any candidate mistake matches`;
    default: return `${r.verdict}: ${c?.detail ?? ''}`;
  }
}
