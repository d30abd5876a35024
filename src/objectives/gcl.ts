/**
 * Global contrastive objectives (THEORY 2.3, SogCLR), every negative in the data set per anchor.
 *
 * bimodal:  g1_i = (1/(N−1)) Σ_{j≠i} exp(S_ij − S_ii),  g2_i = (1/(N−1)) Σ_{j≠i} exp(S_ji − S_ii)
 *           F = (τ/(2N)) Σ_i [log(ε₀ + g1_i) + log(ε₀ + g2_i)]
 * unimodal: Z = [U; V] (2N anchors), positive of anchor a is its other view p(a) = a ± N,
 *           g_a = (1/(2N−2)) Σ_{z ∉ {a, p(a)}} exp((a·z − a·p)/τ),  F = (τ/(2N)) Σ_a log(ε₀ + g_a)
 * With w = g/(ε₀ + g): ∂F/∂S_ij = (τ/(2N))·w1_i·softmax'_ij (+ the column term), ∂F/∂S_ii = −(τ/(2N))(w1_i + w2_i),
 * where softmax' is the softmax over the negatives only; log g = lse' − S_ii − log(#negatives), so
 * everything stays in log space (no overflow at τ = 0.01).
 */
import { DomainError } from '../core/errors.ts';
import { block, type Matrix, type Matrix64, zeros } from '../core/matrix.ts';
import { assertNonNegative } from '../core/validate.ts';
import {
  accurateSum, epsWeight, logEpsPlusExp, type LossAndGrad, type ObjectiveOptions, prepare, toF64, checkedResult } from './common.ts';
import type { MatrixLike } from './common.ts';

export interface GclOptions extends ObjectiveOptions {
  /** ε₀ ≥ 0 inside the log (default 0, as in SogCLR's code). */
  readonly eps0?: number;
}

function checkGcl(op: string, n: number, eps0: number): void {
  assertNonNegative(op, 'eps0', eps0);
  if (n < 2) throw new DomainError(op, `needs N >= 2 pairs (every anchor needs a negative), got N = ${n}`);
}

export function gclBimodalLossAndGrad(U: MatrixLike, V: MatrixLike, opts: GclOptions = {}): LossAndGrad {
  const op = 'gcl-bimodal';
  const p = prepare(op, U, V, opts);
  const eps0 = opts.eps0 ?? 0;
  checkGcl(op, p.n, eps0);
  const n = p.n;
  const spec = { tau: p.tau, positiveShift: 0, exclude: 'positive' } as const;
  const k = p.backend.kernels;
  const { lseRow, lseCol, positive } = k.pairLse(p.U, p.V, spec, { row: true, col: true });
  const logM = Math.log(n - 1);
  const scale = p.tau / (2 * n);
  const terms = new Float64Array(n);
  const w1 = new Float64Array(n);
  const w2 = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const lg1 = lseRow![i]! - positive[i]! - logM;
    const lg2 = lseCol![i]! - positive[i]! - logM;
    terms[i] = logEpsPlusExp(eps0, lg1) + logEpsPlusExp(eps0, lg2);
    w1[i] = scale * epsWeight(eps0, lg1);
    w2[i] = scale * epsWeight(eps0, lg2);
  }
  const value = scale * accurateSum(terms);
  if (!p.grad) return checkedResult(op, p, { value, gradU: null, gradV: null });
  const pos = new Float64Array(n);
  for (let i = 0; i < n; i++) pos[i] = -(w1[i]! + w2[i]!);
  const g = k.pairSoftmaxGrad(p.U, p.V, spec, { lseRow, lseCol, rowCoef: w1, colCoef: w2, posCoef: pos });
  return checkedResult(op, p, { value, gradU: toF64(g.gradU), gradV: toF64(g.gradV) });
}

export function gclUnimodalLossAndGrad(U: MatrixLike, V: MatrixLike, opts: GclOptions = {}): LossAndGrad {
  const op = 'gcl-unimodal';
  const p = prepare(op, U, V, opts);
  const eps0 = opts.eps0 ?? 0;
  checkGcl(op, p.n, eps0);
  const n = p.n;
  const d = p.d;
  // Z = [U; V], stacked in the backend's dtype.
  const Z = zeros(2 * n, d, p.backend.dtype);
  Z.data.set(p.U.data.subarray(0, n * d), 0);
  Z.data.set(p.V.data.subarray(0, n * d), n * d);
  const spec = { tau: p.tau, positiveShift: n, exclude: 'self-and-positive' } as const;
  const k = p.backend.kernels;
  const { lseRow, positive } = k.pairLse(Z, Z, spec, { row: true, col: false });
  const logM = Math.log(2 * n - 2);
  const scale = p.tau / (2 * n);
  const terms = new Float64Array(2 * n);
  const w = new Float64Array(2 * n);
  for (let a = 0; a < 2 * n; a++) {
    const lg = lseRow![a]! - positive[a]! - logM;
    terms[a] = logEpsPlusExp(eps0, lg);
    w[a] = scale * epsWeight(eps0, lg);
  }
  const value = scale * accurateSum(terms);
  if (!p.grad) return checkedResult(op, p, { value, gradU: null, gradV: null });
  const pos = new Float64Array(2 * n);
  for (let a = 0; a < 2 * n; a++) pos[a] = -w[a]!;
  // K = Z Zᵀ/τ is used as both factors: ∂F/∂Z = G Z/τ + Gᵀ Z/τ.
  const g = k.pairSoftmaxGrad(Z, Z, spec, { lseRow, lseCol: null, rowCoef: w, colCoef: null, posCoef: pos });
  const gZ = toF64(g.gradU);
  const gZt = toF64(g.gradV);
  for (let i = 0; i < gZ.data.length; i++) gZ.data[i]! += gZt.data[i]!;
  const gradU: Matrix64 = toF64(block(gZ, 0, 0, n, d));
  const gradV: Matrix64 = toF64(block(gZ, n, 0, n, d));
  return checkedResult(op, p, { value, gradU, gradV });
}
