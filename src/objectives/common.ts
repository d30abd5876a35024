/** The checked op layer shared by the objectives: validation, dtype conversion, results. */
import { defaultBackend } from '../backend/index.ts';
import type { Backend } from '../backend/types.ts';
import { type Matrix, type Matrix64, toContiguous } from '../core/matrix.ts';
import { type FloatNdArray, fromNdarray } from '../interop/ndarray.ts';
import { assertFiniteMatrix, assertNonEmpty, assertSameShape, assertTau } from '../core/validate.ts';
import { NonFiniteError } from '../core/errors.ts';
import { mutant } from '../core/mutants.ts';

/** Value and Euclidean gradients of an objective at (U, V); gradients are float64, null when not asked for. */
export interface LossAndGrad {
  readonly value: number;
  readonly gradU: Matrix64 | null;
  readonly gradV: Matrix64 | null;
}

export interface ObjectiveOptions {
  /** Temperature τ > 0 (default 1, CHO's setting). */
  readonly tau?: number;
  /** Kernel table to run on (default: the blocked CPU backend, float64). */
  readonly backend?: Backend;
  /** Whether to compute gradients (default true). The value alone costs one pass instead of two. */
  readonly grad?: boolean;
}

export interface Prepared {
  readonly U: Matrix;
  readonly V: Matrix;
  readonly n: number;
  readonly d: number;
  readonly tau: number;
  readonly backend: Backend;
  readonly grad: boolean;
}

/** What the public ops accept: a strided Matrix view or a 2-D ndarray over Float64Array / Float32Array. */
export type MatrixLike = Matrix | FloatNdArray;

export function asMatrix(x: MatrixLike): Matrix {
  return 'shape' in x && 'stride' in x ? fromNdarray(x) : (x as Matrix);
}

/** Validates (U, V, τ) at the public boundary and converts them to the backend's dtype. */
export function prepare(op: string, Uin: MatrixLike, Vin: MatrixLike, opts: ObjectiveOptions): Prepared {
  const U = asMatrix(Uin);
  const V = asMatrix(Vin);
  const tau = opts.tau ?? 1;
  assertTau(op, tau);
  assertNonEmpty(op, 'U', U);
  assertSameShape(op, 'U', U, 'V', V);
  assertFiniteMatrix(op, 'U', U);
  assertFiniteMatrix(op, 'V', V);
  const backend = opts.backend ?? defaultBackend();
  if (backend.dtype === 'f32') {
    assertFitsFloat32(op, 'U', U);
    assertFitsFloat32(op, 'V', V);
  }
  return {
    U: toContiguous(U, backend.dtype),
    V: toContiguous(V, backend.dtype),
    n: U.rows,
    d: U.cols,
    tau,
    backend,
    grad: opts.grad ?? true,
  };
}

const F32_MAX = 3.4028234663852886e38;

/** Float32 kernels: an entry beyond float32's range would become Infinity on conversion. */
function assertFitsFloat32(op: string, name: string, m: Matrix): void {
  for (let i = 0; i < m.rows; i++) {
    const base = m.offset + i * m.rowStride;
    for (let j = 0; j < m.cols; j++) {
      const x = m.data[base + j * m.colStride]!;
      if (Math.abs(x) > F32_MAX) throw new NonFiniteError(op, `${name}[${i},${j}] = ${x} is beyond the float32 range (3.4e+38) of the float32 kernels; use float64 (--dtype f64)`);
    }
  }
}

export function toF64(m: Matrix): Matrix64 {
  return toContiguous(m, 'f64') as Matrix64;
}

/** log(ε₀ + e^x), stable for any x (ε₀ = 0 gives x). */
export function logEpsPlusExp(eps0: number, x: number): number {
  if (eps0 === 0 || mutant('eps0-ignored')) return x;
  const a = Math.log(eps0);
  return a > x ? a + Math.log1p(Math.exp(x - a)) : x + Math.log1p(Math.exp(a - x));
}

/** e^x / (ε₀ + e^x) = 1 / (1 + ε₀·e^{−x}), stable for any x. */
export function epsWeight(eps0: number, x: number): number {
  if (eps0 === 0 || mutant('eps0-ignored')) return 1;
  const t = Math.log(eps0) - x;
  return t > 0 ? Math.exp(-t) / (1 + Math.exp(-t)) : 1 / (1 + Math.exp(t));
}

/** Kahan–Babuška (Neumaier) compensated sum. */
export function accurateSum(xs: ArrayLike<number>): number {
  let s = 0;
  let c = 0;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    const t = s + x;
    c += Math.abs(s) >= Math.abs(x) ? s - t + x : x - t + s;
    s = t;
  }
  return s + c;
}

function allFinite(m: Matrix | null): boolean {
  if (m === null) return true;
  for (let i = 0; i < m.rows; i++) {
    const base = m.offset + i * m.rowStride;
    for (let j = 0; j < m.cols; j++) if (!Number.isFinite(m.data[base + j * m.colStride]!)) return false;
  }
  return true;
}

/** log10 of the largest row norm of m (−Infinity for a zero matrix), computed without overflow. */
function log10MaxRowNorm(m: Matrix): number {
  let best = -Infinity;
  for (let i = 0; i < m.rows; i++) {
    const base = m.offset + i * m.rowStride;
    let scale = 0;
    for (let j = 0; j < m.cols; j++) scale = Math.max(scale, Math.abs(m.data[base + j * m.colStride]!));
    if (scale === 0) continue;
    let s = 0;
    for (let j = 0; j < m.cols; j++) s += (m.data[base + j * m.colStride]! / scale) ** 2;
    best = Math.max(best, Math.log10(scale) + 0.5 * Math.log10(s));
  }
  return best;
}

/**
 * A result is finite or it is an error: a NonFiniteError naming the cause, the scale of
 * S = UVᵀ/τ (bounded by max‖u_i‖·max‖v_j‖/τ) against the range of the kernels' dtype.
 */
export function checkedResult(op: string, p: Prepared, r: LossAndGrad): LossAndGrad {
  if (Number.isFinite(r.value) && allFinite(r.gradU) && allFinite(r.gradV)) return r;
  const what = Number.isFinite(r.value) ? 'the gradient is not finite' : `the value is ${r.value}`;
  const maxDtype = p.backend.dtype === 'f64' ? Number.MAX_VALUE : F32_MAX;
  const logScale = log10MaxRowNorm(p.U) + log10MaxRowNorm(p.V) - Math.log10(p.tau);
  const dtypeName = p.backend.dtype === 'f64' ? 'float64' : 'float32';
  const cause = !Number.isFinite(1 / p.tau)
    ? `tau = ${p.tau} is so small that 1/tau overflows ${dtypeName}`
    : `the scale of S = UVᵀ/τ (max‖u‖·max‖v‖/τ ≈ 10^${logScale.toFixed(1)}) exceeds the ${dtypeName} range (${maxDtype.toExponential(1)})`;
  throw new NonFiniteError(op, `${what}: ${logScale > Math.log10(maxDtype) || !Number.isFinite(1 / p.tau) ? cause : `${cause.replace('exceeds', 'is near')}, or an intermediate overflowed`}; rescale the rows or raise tau`);
}
