/**
 * The blocked pair-sigmoid (SigLIP) kernel of the CPU backend; the maths is in ../types.ts:
 *   ℓ_ij = t·u_i·v_j + b,  x_ij = z_ij·ℓ_ij (z_ii = +1, z_ij = −1 for i ≠ j)
 *   value = Σ_ij softplus(−x_ij),  H_ij = −z_ij·σ(−x_ij),  dT = Σ H_ij s_ij,  dB = Σ H_ij,
 *   gradU = (tH) V,  gradV = (tH)ᵀ U
 * (Zhai et al. 2023, SigLIP, eq. 1, summed over all N² pairs; the op divides by N).
 *
 * Streaming over T x T tiles (T = blockSize): S_IJ = U_I V_Jᵀ by the backend's WebAssembly gemm,
 * then per entry softplus / σ in float64 JavaScript (stable: softplus(−x) = max(−x, 0) + log1p(e),
 * σ(−x) = e/(1+e) or 1/(1+e) with e = exp(−|x|), so t = 1000 is fine), G_IJ = t·H written into a
 * second T x T tile, and gradU_I += G_IJ V_J, gradV_J += G_IJᵀ U_I by the same gemm. Memory: two
 * T x T tiles and the n x d gradients; never n x n.
 *
 * Why gemm + JavaScript and not a new AssemblyScript kernel: the O(n²·d) work is the two / three
 * products per tile, which already run in the SIMD gemm; the elementwise part needs log1p, which
 * the WebAssembly module has no vector version of (writing and validating one would be a new
 * numerical kernel), while Math.log1p / Math.exp are accurate to about an ulp and deterministic.
 *
 * Determinism and block-size independence: every s_ij is a gemm dot product over d (one fixed
 * order, whatever T), the elementwise maths is per entry, each tile row's sum is formed in a fixed
 * order and added to the totals by Neumaier compensated summation; so the same inputs give the
 * same bits, and another T only reorders sums (rounding).
 */
import { allocArray, block, type DType, type Matrix, matrix, transpose, zeros } from '../../core/matrix.ts';
import { mutant } from '../../core/mutants.ts';
import type { PairSigmoidResult, SigmoidSpec } from '../types.ts';
import { CompensatedSum } from '../../core/compensatedSum.ts';

type Gemm = (alpha: number, A: Matrix, B: Matrix, beta: number, C: Matrix) => void;

/** Σ_ij softplus(−z_ij(t s_ij + b)) and its derivatives over T x T tiles (see the header). */
export function blockedPairSigmoid(gemm: Gemm, dtype: DType, T: number, U: Matrix, V: Matrix, spec: SigmoidSpec, want: { grad: boolean }): PairSigmoidResult {
  const n = U.rows;
  const d = U.cols;
  const { t, b } = spec;
  // Mutant 'sigmoid-bias-sign' (src/core/mutants.ts): the negatives' logit taken as t·s − b.
  const bSign = mutant('sigmoid-bias-sign') ? -1 : 1;
  const grad = want.grad;
  const value = new CompensatedSum();
  const dT = new CompensatedSum();
  const dB = new CompensatedSum();
  const gradU = grad ? zeros(n, d, dtype) : null;
  const gradV = grad ? zeros(n, d, dtype) : null;
  if (n === 0) return { value: 0, dT: grad ? 0 : null, dB: grad ? 0 : null, gradU, gradV };
  const tile = Math.min(T, n);
  const Sbuf = allocArray(dtype, tile * tile);
  const Gbuf = grad ? allocArray(dtype, tile * tile) : null;
  for (let I = 0; I < n; I += tile) {
    const ti = Math.min(tile, n - I);
    const UI = block(U, I, 0, ti, d);
    for (let J = 0; J < n; J += tile) {
      const tj = Math.min(tile, n - J);
      const VJ = block(V, J, 0, tj, d);
      const S = matrix(Sbuf, ti, tj);
      gemm(1, UI, transpose(VJ), 0, S);
      const Sd = S.data;
      for (let i = 0; i < ti; i++) {
        const diag = I + i - J; // the column of (I+i, I+i) in this tile, when 0 <= diag < tj
        const o0 = i * tj;
        let rv = 0;
        let rt = 0;
        let rb = 0;
        for (let j = 0; j < tj; j++) {
          const s = Sd[o0 + j]!;
          const pos = j === diag;
          const x = pos ? t * s + b : -(t * s + bSign * b);
          const e = Math.exp(-Math.abs(x));
          rv += (x < 0 ? -x : 0) + Math.log1p(e);
          if (Gbuf) {
            const sg = x >= 0 ? e / (1 + e) : 1 / (1 + e); // σ(−x)
            const h = pos ? -sg : sg;
            rt += h * s;
            rb += pos ? h : bSign * h;
            Gbuf[o0 + j] = t * h;
          }
        }
        value.add(rv);
        if (Gbuf) {
          dT.add(rt);
          dB.add(rb);
        }
      }
      if (Gbuf) {
        const G = matrix(Gbuf, ti, tj);
        gemm(1, G, VJ, 1, block(gradU!, I, 0, ti, d));
        gemm(1, transpose(G), UI, 1, block(gradV!, J, 0, tj, d));
      }
    }
  }
  return { value: value.value, dT: grad ? dT.value : null, dB: grad ? dB.value : null, gradU, gradV };
}
