/**
 * The backend kernel table (tfjs-style op/kernel split). Ops in `src/objectives` and `src/ops`
 * validate their inputs and then call these kernels, which trust their inputs: contiguous
 * row-major matrices (offset 0, rowStride = cols, colStride = 1) in the backend's dtype, finite.
 * A backend is a value passed explicitly; there is no global registry.
 *
 * Pair-softmax kernels. With S = U Vᵀ / τ (n x n, never materialised by blocked backends),
 * row i's positive column is pos(i) = (i + positiveShift) mod n, and `exclude` removes entries
 * from both the log-sum-exps and the gradient:
 *   'none'              nothing excluded (InfoNCE: lse over the whole row / column)
 *   'positive'          (i, pos(i)) excluded (GCL bimodal: negatives only)
 *   'self-and-positive' (i, i) and (i, pos(i)) excluded (GCL unimodal on stacked views [U; V])
 * pairLse returns lseRow_i = log Σ_{j kept} exp(S_ij), lseCol_j = log Σ_{i kept} exp(S_ij),
 * positive_i = S_{i,pos(i)}, all max-shifted (online across tiles), in float64.
 * pairSoftmaxGrad forms
 *   G_ij = rowCoef_i · exp(S_ij − lseRow_i) + colCoef_j · exp(S_ij − lseCol_j)   for kept (i,j)
 *   G_{i,pos(i)} += posCoef_i
 * and returns gradU = G V / τ and gradV = Gᵀ U / τ (the chain rule through S = U Vᵀ / τ).
 * A null coefficient vector means zero (and its lse may then be null).
 *
 * Pair-sigmoid kernel (the SigLIP loss; Zhai et al. 2023, "Sigmoid Loss for Language Image
 * Pre-Training", eq. 1). With s_ij = u_i·v_j (no 1/τ), scale t > 0, bias b, z_ii = +1, z_ij = −1 (i ≠ j),
 *   ℓ_ij = t·s_ij + b,  x_ij = z_ij·ℓ_ij,  value = Σ_ij softplus(−x_ij)        (float64; the op divides by N)
 *   H_ij = ∂value/∂ℓ_ij = −z_ij·σ(−x_ij)
 *   dT = ∂value/∂t = Σ_ij H_ij·s_ij,   dB = ∂value/∂b = Σ_ij H_ij
 *   G = t·H = ∂value/∂S,  gradU = G V,  gradV = Gᵀ U.
 * softplus(y) = max(y, 0) + log1p(exp(−|y|)) and σ(−x) = e/(1+e) (x ≥ 0) or 1/(1+e) (x < 0), e = exp(−|x|),
 * so nothing overflows at any t. With want.grad false, dT, dB, gradU and gradV are null.
 */
import type { DType, Matrix } from '../core/matrix.ts';

export type PairExclusion = 'none' | 'positive' | 'self-and-positive';

export interface PairSpec {
  readonly tau: number;
  readonly positiveShift: number;
  readonly exclude: PairExclusion;
}

export interface PairLseResult {
  readonly lseRow: Float64Array | null;
  readonly lseCol: Float64Array | null;
  readonly positive: Float64Array;
}

export interface PairGradCoefficients {
  readonly lseRow: Float64Array | null;
  readonly lseCol: Float64Array | null;
  readonly rowCoef: Float64Array | null;
  readonly colCoef: Float64Array | null;
  readonly posCoef: Float64Array | null;
}

export interface PairGradResult {
  /** n x d, backend dtype, contiguous. */
  readonly gradU: Matrix;
  readonly gradV: Matrix;
}

export interface SigmoidSpec {
  /** Scale t > 0 (an inverse temperature). */
  readonly t: number;
  /** Bias b. */
  readonly b: number;
}

export interface PairSigmoidResult {
  /** Σ_ij softplus(−z_ij(t·s_ij + b)), float64 (a sum, not the mean). */
  readonly value: number;
  /** Σ_ij H_ij s_ij = ∂value/∂t (null without want.grad). */
  readonly dT: number | null;
  /** Σ_ij H_ij = ∂value/∂b (null without want.grad). */
  readonly dB: number | null;
  /** n x d, backend dtype, contiguous: G V and Gᵀ U with G = t·H (null without want.grad). */
  readonly gradU: Matrix | null;
  readonly gradV: Matrix | null;
}

export interface Kernels {
  /** C ← α·A·B + β·C. A is m x k, B is k x n, C is m x n; any strides (a transpose is a view); backend dtype. */
  gemm(alpha: number, A: Matrix, B: Matrix, beta: number, C: Matrix): void;
  /** Pass 1 of the pair softmax: max-shifted row / column log-sum-exps of S = U Vᵀ / τ. */
  pairLse(U: Matrix, V: Matrix, spec: PairSpec, want: { row: boolean; col: boolean }): PairLseResult;
  /** Pass 2: gradients of Σ coefficients · softmax entries with respect to U and V (see above). */
  pairSoftmaxGrad(U: Matrix, V: Matrix, spec: PairSpec, coef: PairGradCoefficients): PairGradResult;
  /** The pair-sigmoid (SigLIP) sum and, with want.grad, its derivatives (see above). */
  pairSigmoid(U: Matrix, V: Matrix, spec: SigmoidSpec, want: { grad: boolean }): PairSigmoidResult;
}

export interface Backend {
  /** 'cpu' (blocked, WebAssembly SIMD), 'reference' (materialised oracle), 'gpujs', ... */
  readonly name: string;
  /** Precision of the kernels' arithmetic and of the matrices they take and return. */
  readonly dtype: DType;
  /** Tile edge used by blocked kernels (results must not depend on it beyond rounding). */
  readonly blockSize: number;
  readonly kernels: Kernels;
  /** Human-readable details (e.g. SIMD in use, gpu.js mode). */
  readonly info: Readonly<Record<string, string | number | boolean>>;
  dispose(): void;
}
