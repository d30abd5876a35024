/**
 * In-batch quantities shared by every estimator, on the backend's pair-softmax kernels
 * (the same calls as src/objectives/gcl.ts, with the batch in place of the data set and u in place of g).
 *
 * Anchor layout (length 2B): anchor a < B is row a's first anchor (bimodal: u_a against the v's of
 * the batch; unimodal: view U_a), anchor B + a its second (bimodal: v_a against the u's; unimodal:
 * view V_a). With m negatives per anchor (bimodal m = B − 1, unimodal m = 2B − 2):
 *   log ĝ_a = lse over a's negatives of S − S_{a,pos(a)} − log m        (S = logits / τ, max-shifted)
 * For per-anchor weights w_a (the coefficient of ĝ_a in the surrogate, already scaled), the
 * surrogate Σ_a w_a·ĝ_a has ∂/∂S = w_a·softmax' on a's negatives and −w_a on its positive, so
 *   bimodal   rowCoef = w[0..B), colCoef = w[B..2B), posCoef_i = −(w_i + w_{B+i})    on S = U_b V_bᵀ/τ
 *   unimodal  rowCoef = w, posCoef = −w on K = Z Zᵀ/τ, Z = [U_b; V_b], ∂/∂Z = G Z/τ + Gᵀ Z/τ
 * SogCLR's surrogate F̂_b = (τ/(2B)) Σ_a ĝ_a/(ε₀ + u_a) is w_a = (τ/(2B))·ĝ_a/(ε₀ + u_a), computed as
 * (τ/(2B))·exp(log ĝ_a − log(ε₀ + u_a)) from log u (never overflows; τ = 0.01 in float32 is fine);
 * the plug-in u = ĝ is w_a = (τ/(2B))·ĝ_a/(ε₀ + ĝ_a), exactly the weights of gcl.ts on the batch.
 */
import type { Backend, PairLseResult, PairSpec } from '../backend/types.ts';
import { defaultBackend } from '../backend/index.ts';
import { DomainError, ShapeError } from '../core/errors.ts';
import { block, type Matrix, type Matrix64, toContiguous, zeros } from '../core/matrix.ts';
import { assertFiniteMatrix, assertNonEmpty, assertNonNegative, assertSameShape, assertTau } from '../core/validate.ts';
import { accurateSum, asMatrix, epsWeight, logEpsPlusExp, type MatrixLike, toF64 } from '../objectives/common.ts';
import type { Modality } from './types.ts';

export interface BatchPairs {
  readonly modality: Modality;
  readonly B: number;
  readonly d: number;
  readonly tau: number;
  readonly backend: Backend;
  /** Kernel operands, contiguous, backend dtype: bimodal (U_b, V_b); unimodal (Z, Z). */
  readonly X: Matrix;
  readonly Y: Matrix;
  readonly spec: PairSpec;
  readonly lse: PairLseResult;
  /** log ĝ per anchor, anchor layout, float64. */
  readonly logG: Float64Array;
}

/** Shape and finiteness checks of a batch (B ≥ 2 rows, so every anchor has a negative). */
export function checkBatch(op: string, U: Matrix, V: Matrix): void {
  assertNonEmpty(op, 'U', U);
  assertSameShape(op, 'U', U, 'V', V);
  if (U.rows < 2) throw new ShapeError(op, `a batch needs B >= 2 rows (every anchor needs a negative), got B = ${U.rows}`);
  assertFiniteMatrix(op, 'U', U);
  assertFiniteMatrix(op, 'V', V);
}

/** Pass 1 on a batch: the kernel operands, their log-sum-exps and log ĝ per anchor (inputs trusted). */
export function batchPairs(modality: Modality, U: Matrix, V: Matrix, tau: number, backend: Backend): BatchPairs {
  const B = U.rows;
  const d = U.cols;
  const k = backend.kernels;
  const logG = new Float64Array(2 * B);
  if (modality === 'bimodal') {
    const X = toContiguous(U, backend.dtype);
    const Y = toContiguous(V, backend.dtype);
    const spec: PairSpec = { tau, positiveShift: 0, exclude: 'positive' };
    const lse = k.pairLse(X, Y, spec, { row: true, col: true });
    const logM = Math.log(B - 1);
    for (let i = 0; i < B; i++) {
      logG[i] = lse.lseRow![i]! - lse.positive[i]! - logM;
      logG[B + i] = lse.lseCol![i]! - lse.positive[i]! - logM;
    }
    return { modality, B, d, tau, backend, X, Y, spec, lse, logG };
  }
  const Z = zeros(2 * B, d, backend.dtype);
  const Uc = toContiguous(U, backend.dtype);
  const Vc = toContiguous(V, backend.dtype);
  Z.data.set(Uc.data.subarray(0, B * d), 0);
  Z.data.set(Vc.data.subarray(0, B * d), B * d);
  const spec: PairSpec = { tau, positiveShift: B, exclude: 'self-and-positive' };
  const lse = k.pairLse(Z, Z, spec, { row: true, col: false });
  const logM = Math.log(2 * B - 2);
  for (let a = 0; a < 2 * B; a++) logG[a] = lse.lseRow![a]! - lse.positive[a]! - logM;
  return { modality, B, d, tau, backend, X: Z, Y: Z, spec, lse, logG };
}

/**
 * Surrogate weights w_a = scale·ĝ_a/(ε₀ + u_a) from log ĝ and log u (null: u = ĝ, the plug-in).
 * Where log u_a equals log ĝ_a bit for bit the plug-in formula is used, so SogCLR at γ = 1 gives the
 * plug-in estimate bit for bit.
 */
export function surrogateWeights(logG: Float64Array, logU: Float64Array | null, eps0: number, scale: number): Float64Array {
  const w = new Float64Array(logG.length);
  for (let a = 0; a < logG.length; a++) {
    const lg = logG[a]!;
    const lu = logU === null ? lg : logU[a]!;
    w[a] = scale * (lu === lg ? epsWeight(eps0, lg) : Math.exp(lg - logEpsPlusExp(eps0, lu)));
  }
  return w;
}

/** The plug-in value of the batch objective: scale·Σ_a log(ε₀ + ĝ_a) (scale = τ/(2B) for GCL). */
export function pluginValue(logG: Float64Array, eps0: number, scale: number): number {
  const t = new Float64Array(logG.length);
  for (let a = 0; a < logG.length; a++) t[a] = logEpsPlusExp(eps0, logG[a]!);
  return scale * accurateSum(t);
}

export interface SurrogateGrad {
  /** ∂(Σ_a w_a ĝ_a)/∂U_b and ∂/∂V_b, float64. */
  readonly gradU: Matrix64;
  readonly gradV: Matrix64;
  /**
   * Σ_ij G_ij S_ij over the kernel's G (= ⟨X, G Y/τ⟩), i.e. Σ_a w_a·E_{softmax'_a}[h_a/τ] with
   * h_a = logit − positive logit: the τ-derivative statistic a global learnable τ needs.
   */
  readonly pairDot: number;
}

/** Pass 2 on a batch: the gradients of Σ_a w_a ĝ_a for the given per-anchor weights. */
export function surrogateGrad(p: BatchPairs, w: Float64Array): SurrogateGrad {
  const { B, d, backend } = p;
  const k = backend.kernels;
  if (p.modality === 'bimodal') {
    const rowCoef = w.slice(0, B);
    const colCoef = w.slice(B, 2 * B);
    const posCoef = new Float64Array(B);
    for (let i = 0; i < B; i++) posCoef[i] = -(rowCoef[i]! + colCoef[i]!);
    const g = k.pairSoftmaxGrad(p.X, p.Y, p.spec, { lseRow: p.lse.lseRow, lseCol: p.lse.lseCol, rowCoef, colCoef, posCoef });
    return { gradU: toF64(g.gradU), gradV: toF64(g.gradV), pairDot: frobDot(p.X, g.gradU) };
  }
  const posCoef = new Float64Array(2 * B);
  for (let a = 0; a < 2 * B; a++) posCoef[a] = -w[a]!;
  const g = k.pairSoftmaxGrad(p.X, p.Y, p.spec, { lseRow: p.lse.lseRow, lseCol: null, rowCoef: w, colCoef: null, posCoef });
  const pairDot = frobDot(p.X, g.gradU);
  const gZ = toF64(g.gradU);
  const gZt = g.gradV.data;
  for (let i = 0; i < gZ.data.length; i++) gZ.data[i]! += gZt[i]!;
  return { gradU: toF64(block(gZ, 0, 0, B, d)), gradV: toF64(block(gZ, B, 0, B, d)), pairDot };
}

/** ⟨A, C⟩ over two contiguous matrices of the same shape, accumulated in float64. */
function frobDot(A: Matrix, C: Matrix): number {
  let s = 0;
  const a = A.data;
  const c = C.data;
  for (let i = 0; i < A.rows * A.cols; i++) s += a[i]! * c[i]!;
  return s;
}

export interface SurrogateOptions {
  readonly tau: number;
  /** ε₀ ≥ 0 (default 0). */
  readonly eps0?: number;
  /** Default: the float64 CPU backend. */
  readonly backend?: Backend;
  /** log u per anchor (anchor layout, length 2B); omitted or null: u = ĝ (the plug-in estimator). */
  readonly logU?: Float64Array | null;
}

export interface SurrogateResult {
  readonly gradU: Matrix64;
  readonly gradV: Matrix64;
  /** Plug-in value (τ/(2B)) Σ_a log(ε₀ + ĝ_a). */
  readonly value: number;
  readonly logG: Float64Array;
}

/**
 * The SogCLR estimate on one batch at a given u, stateless:
 *   m_b = ∂/∂(U_b, V_b) of (τ/(2B)) Σ_a ĝ_a/(ε₀ + u_a)     (u held fixed; u = ĝ when logU is omitted)
 * Scattered into the full gradient, its average over all C(N,B) batches is ∇F exactly when u = g.
 *
 * @example
 *   const logU = anchorLogG('bimodal', U, V, { tau: 0.1 });          // exact u = g, all N anchors
 *   const idx = [3, 7, 9];                                           // one batch
 *   const lu = Float64Array.from([...idx.map((i) => logU[i]), ...idx.map((i) => logU[N + i])]);
 *   surrogateGradient('bimodal', gatherRows(U, idx), gatherRows(V, idx), { tau: 0.1, logU: lu });
 */
export function surrogateGradient(modality: Modality, Uin: MatrixLike, Vin: MatrixLike, opts: SurrogateOptions): SurrogateResult {
  const op = 'surrogateGradient';
  const U = asMatrix(Uin);
  const V = asMatrix(Vin);
  assertTau(op, opts.tau);
  const eps0 = opts.eps0 ?? 0;
  assertNonNegative(op, 'eps0', eps0);
  checkBatch(op, U, V);
  const B = U.rows;
  const logU = opts.logU ?? null;
  if (logU !== null) {
    if (logU.length !== 2 * B) throw new ShapeError(op, `logU has length ${logU.length} but the batch has 2B = ${2 * B} anchors`);
    for (let a = 0; a < logU.length; a++) {
      if (Number.isNaN(logU[a]!) || logU[a] === Infinity) throw new DomainError(op, `logU[${a}] is ${logU[a]}; log u must be < Infinity`);
    }
  }
  const backend = opts.backend ?? defaultBackend();
  const p = batchPairs(modality, U, V, opts.tau, backend);
  const scale = opts.tau / (2 * B);
  const g = surrogateGrad(p, surrogateWeights(p.logG, logU, eps0, scale));
  return { gradU: g.gradU, gradV: g.gradV, value: pluginValue(p.logG, eps0, scale), logG: p.logG };
}

/**
 * log g per anchor over the whole data set (length 2N, anchor layout with B = N): the exact values
 * SogCLR's u tracks (THEORY 2.3).
 */
export function anchorLogG(modality: Modality, Uin: MatrixLike, Vin: MatrixLike, opts: { tau: number; backend?: Backend }): Float64Array {
  const op = 'anchorLogG';
  const U = asMatrix(Uin);
  const V = asMatrix(Vin);
  assertTau(op, opts.tau);
  checkBatch(op, U, V);
  return batchPairs(modality, U, V, opts.tau, opts.backend ?? defaultBackend()).logG;
}
