/**
 * Similarity statistics of paired embeddings (THEORY 9.4): the mean positive similarity
 * E[s_pos] = (1/N) Σ_i u_i·v_i and the mean negative similarity E[s_neg] = (1/(N(N−1))) Σ_{i≠j} u_i·v_j,
 * and the slack of the bound E[s_pos] ≤ 1 + E[s_neg] + 1/(N−1) that holds for unit rows
 * (Lee, Lim, Lee & Sohn, ICML 2025; proof in proofs-checks/siglip/similarity-gap-bound.ts).
 *
 * The negative sum is formed as (Σ_i u_i)·(Σ_j v_j) − Σ_i u_i·v_i in O(Nd), compensated
 * (Neumaier) so that the slack at an equality case (Σ u_i = 0, u_i = v_i) is resolved to rounding.
 */
import type { Matrix } from '../core/matrix.ts';
import { mutant } from '../core/mutants.ts';
import { assertFiniteMatrix, assertSameShape } from '../core/validate.ts';
import { ConfigError } from '../core/errors.ts';
import { accurateSum } from '../objectives/common.ts';

export interface SimilarityStats {
  readonly n: number;
  /** E[s_pos] = (1/N) Σ_i u_i·v_i. */
  readonly meanPositive: number;
  /** E[s_neg] = (1/(N(N−1))) Σ_{i≠j} u_i·v_j. */
  readonly meanNegative: number;
  /** 1 + E[s_neg] + 1/(N−1) − E[s_pos]: ≥ 0 for unit rows. */
  readonly boundSlack: number;
}

export function similarityStats(U: Matrix, V: Matrix): SimilarityStats {
  const op = 'similarityStats';
  assertSameShape(op, 'U', U, 'V', V);
  assertFiniteMatrix(op, 'U', U);
  assertFiniteMatrix(op, 'V', V);
  const n = U.rows;
  const d = U.cols;
  if (n < 2) throw new ConfigError(op, `N must be at least 2 (one pair has no negatives), got ${n}`);
  const at = (m: Matrix, i: number, j: number) => m.data[m.offset + i * m.rowStride + j * m.colStride]!;
  const pos = new Float64Array(n);
  const sumU = new Float64Array(d);
  const sumV = new Float64Array(d);
  const col = new Float64Array(n);
  for (let c = 0; c < d; c++) {
    for (let i = 0; i < n; i++) col[i] = at(U, i, c);
    sumU[c] = accurateSum(col);
    for (let i = 0; i < n; i++) col[i] = at(V, i, c);
    sumV[c] = accurateSum(col);
  }
  const prods = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < d; c++) prods[c] = at(U, i, c) * at(V, i, c);
    pos[i] = accurateSum(prods);
  }
  for (let c = 0; c < d; c++) prods[c] = sumU[c]! * sumV[c]!;
  const all = accurateSum(prods);
  const posSum = accurateSum(pos);
  const meanPositive = posSum / n;
  // Σ_{i≠j} u_i·v_j = (Σu)·(Σv) − Σ_i u_i·v_i; the mistake 'sneg-includes-diagonal' averages all N² pairs.
  const meanNegative = mutant('sneg-includes-diagonal') ? all / (n * n) : (all - posSum) / (n * (n - 1));
  const boundSlack = accurateSum([1, meanNegative, 1 / (n - 1), -meanPositive]);
  return { n, meanPositive, meanNegative, boundSlack };
}
