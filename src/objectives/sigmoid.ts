/**
 * The pairwise sigmoid loss (THEORY 2.4; Zhai et al. 2023, "Sigmoid Loss for Language Image
 * Pre-Training" (SigLIP), eq. 1 and its Algorithm 1):
 *
 *   L(U, V; t, b) = (1/N) Σ_{i,j} log(1 + exp(−z_ij (t·u_i·v_j + b))),   z_ii = +1, z_ij = −1 (i ≠ j)
 *
 * t > 0 the scale (an inverse temperature), b the bias; u_i·v_j the plain dot product (rows are
 * usually unit-norm, not required). With ℓ_ij = t·s_ij + b and H_ij = −z_ij·σ(−z_ij ℓ_ij):
 *   ∂L/∂U = (t/N)·H V,   ∂L/∂V = (t/N)·Hᵀ U,   ∂L/∂t = (1/N) Σ H_ij s_ij,   ∂L/∂b = (1/N) Σ H_ij.
 * The backend kernel `pairSigmoid` (src/backend/types.ts) returns the sums; the division by N is here.
 * Note SigLIP's 1/N (the batch size), not 1/N²: each of the N² pairs is its own binary problem.
 */
import type { Backend } from '../backend/types.ts';
import { DomainError, NonFiniteError } from '../core/errors.ts';
import type { Matrix64 } from '../core/matrix.ts';
import { mutant } from '../core/mutants.ts';
import { checkedResult, type MatrixLike, prepare, toF64 } from './common.ts';

/** SigLIP's initialisation: t = exp(t′) with t′ = log 10, and b = −10. */
export const SIGMOID_DEFAULT_T = 10;
export const SIGMOID_DEFAULT_B = -10;

export interface SigmoidOptions {
  /** Scale t > 0 (default 10, SigLIP's initialisation). */
  readonly t?: number;
  /** Bias b (default −10, SigLIP's initialisation). */
  readonly b?: number;
  /** Kernel table to run on (default: the blocked CPU backend, float64). */
  readonly backend?: Backend;
  /** Whether to compute gradients (default true). */
  readonly grad?: boolean;
}

/** Value and gradients (float64); every gradient null when not asked for. */
export interface SigmoidLossAndGrad {
  readonly value: number;
  readonly gradU: Matrix64 | null;
  readonly gradV: Matrix64 | null;
  /** ∂L/∂t. */
  readonly gradT: number | null;
  /** ∂L/∂b. */
  readonly gradB: number | null;
}

/** Checks t (finite, > 0) and b (finite); DomainError naming the value. */
export function assertSigmoidParams(op: string, t: number, b: number): void {
  if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0) throw new DomainError(op, `t (the scale) must be a finite number > 0, got ${t}`);
  if (typeof b !== 'number' || !Number.isFinite(b)) throw new DomainError(op, `b (the bias) must be a finite number, got ${b}`);
}

export function sigmoidLossAndGrad(U: MatrixLike, V: MatrixLike, opts: SigmoidOptions = {}): SigmoidLossAndGrad {
  const op = 'sigmoid';
  const t = opts.t ?? SIGMOID_DEFAULT_T;
  const b = opts.b ?? SIGMOID_DEFAULT_B;
  assertSigmoidParams(op, t, b);
  const p = prepare(op, U, V, { backend: opts.backend, grad: opts.grad });
  // Mutant 'sigmoid-mean-over-pairs' (src/core/mutants.ts): divided by N² instead of N.
  const n = mutant('sigmoid-mean-over-pairs') ? p.n * p.n : p.n;
  const r = p.backend.kernels.pairSigmoid(p.U, p.V, { t, b }, { grad: p.grad });
  const value = r.value / n;
  const base = p.grad
    ? { value, gradU: scaled(toF64(r.gradU!), 1 / n), gradV: scaled(toF64(r.gradV!), 1 / n) }
    : { value, gradU: null, gradV: null };
  // The logits are t·UVᵀ: checkedResult judges the scale of UVᵀ/τ, so τ = 1/t, and its advice is reworded.
  try {
    checkedResult(op, { ...p, tau: 1 / t }, base);
  } catch (e) {
    if (!(e instanceof NonFiniteError)) throw e;
    throw new NonFiniteError(op, e.message.slice(op.length + 2)
      .replace('S = UVᵀ/τ', 'the logits t·UVᵀ + b').replace('max‖u‖·max‖v‖/τ', 't·max‖u‖·max‖v‖').replace('raise tau', 'lower t'));
  }
  if (!p.grad) return { ...base, gradT: null, gradB: null };
  const gradT = r.dT! / n;
  const gradB = r.dB! / n;
  if (!Number.isFinite(gradT) || !Number.isFinite(gradB)) {
    throw new NonFiniteError(op, `the gradient in t or b is not finite (∂L/∂t = ${gradT}, ∂L/∂b = ${gradB}): an intermediate overflowed; rescale the rows or lower t`);
  }
  return { ...base, gradT, gradB };
}

/** m·c in place (m is the kernel's fresh, contiguous float64 result). */
function scaled(m: Matrix64, c: number): Matrix64 {
  for (let i = 0; i < m.data.length; i++) m.data[i] = m.data[i]! * c;
  return m;
}
