/**
 * InfoNCE, two-sided (THEORY 2.1; CHO's loss, CLIP-style) and one-sided `infonce-uv`.
 *
 *   S = U Vᵀ / τ,  L(U,V) = (1/(2N)) Σ_i [(lse_row_i − S_ii) + (lse_col_i − S_ii)]
 *   ∂L/∂S = (P + Q − 2I)/(2N),  ∂L/∂U = (∂L/∂S) V / τ,  ∂L/∂V = (∂L/∂S)ᵀ U / τ
 *   one-sided: L = (1/N) Σ_i (lse_row_i − S_ii),  ∂L/∂S = (P − I)/N
 * CHO's code sums the two directions (2x this value); the average is the toolkit's convention.
 */
import type { Matrix } from '../core/matrix.ts';
import { accurateSum, type LossAndGrad, type ObjectiveOptions, prepare, toF64, checkedResult } from './common.ts';
import type { MatrixLike } from './common.ts';
import { mutant } from '../core/mutants.ts';

const PAIRED = { positiveShift: 0, exclude: 'none' } as const;

export function infonceLossAndGrad(U: MatrixLike, V: MatrixLike, opts: ObjectiveOptions = {}): LossAndGrad {
  const p = prepare('infonce', U, V, opts);
  const spec = { ...PAIRED, tau: p.tau };
  const k = p.backend.kernels;
  const { lseRow, lseCol, positive } = k.pairLse(p.U, p.V, spec, { row: true, col: true });
  const terms = new Float64Array(p.n);
  for (let i = 0; i < p.n; i++) terms[i] = lseRow![i]! - positive[i]! + (lseCol![i]! - positive[i]!);
  const value = accurateSum(terms) / (2 * p.n);
  if (!p.grad) return checkedResult('infonce', p, { value, gradU: null, gradV: null });
  const c = new Float64Array(p.n).fill(1 / (2 * p.n));
  const pos = new Float64Array(p.n).fill(-1 / p.n);
  const g = k.pairSoftmaxGrad(p.U, p.V, spec, { lseRow, lseCol, rowCoef: c, colCoef: mutant('column-softmax-dropped') ? null : c, posCoef: pos });
  return checkedResult('infonce', p, { value, gradU: toF64(g.gradU), gradV: toF64(g.gradV) });
}

export function infonceUvLossAndGrad(U: MatrixLike, V: MatrixLike, opts: ObjectiveOptions = {}): LossAndGrad {
  const p = prepare('infonce-uv', U, V, opts);
  const spec = { ...PAIRED, tau: p.tau };
  const k = p.backend.kernels;
  const { lseRow, positive } = k.pairLse(p.U, p.V, spec, { row: true, col: false });
  const terms = new Float64Array(p.n);
  for (let i = 0; i < p.n; i++) terms[i] = lseRow![i]! - positive[i]!;
  const value = accurateSum(terms) / p.n;
  if (!p.grad) return checkedResult('infonce-uv', p, { value, gradU: null, gradV: null });
  const c = new Float64Array(p.n).fill(1 / p.n);
  const pos = new Float64Array(p.n).fill(-1 / p.n);
  const g = k.pairSoftmaxGrad(p.U, p.V, spec, { lseRow, lseCol: null, rowCoef: c, colCoef: null, posCoef: pos });
  return checkedResult('infonce-uv', p, { value, gradU: toF64(g.gradU), gradV: toF64(g.gradV) });
}
