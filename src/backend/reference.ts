/**
 * The materialised reference backend: the test oracle and the small-N path.
 *
 * It forms S = U Vᵀ / τ as an n x n matrix and evaluates the pair softmax of `types.ts` in the most
 * direct way (two-pass max-shifted log-sum-exp per row and per column). With dtype 'f32' every
 * arithmetic result is rounded to float32 (Math.fround), i.e. "the same maths in float32", which is
 * what the float32 tolerance rule compares blocked float32 kernels against.
 */
import { allocArray, type DType, type Matrix, zeros } from '../core/matrix.ts';
import type { Backend, Kernels, PairGradCoefficients, PairLseResult, PairSigmoidResult, PairSpec } from './types.ts';

const id = (x: number) => x;

function at(m: Matrix, i: number, j: number): number {
  return m.data[m.offset + i * m.rowStride + j * m.colStride]!;
}

/** keep(i, j): whether entry (i, j) of the n x n pair matrix takes part (see PairExclusion). */
export function pairKeep(spec: PairSpec, n: number): (i: number, j: number) => boolean {
  const shift = ((spec.positiveShift % n) + n) % n;
  switch (spec.exclude) {
    case 'none':
      return () => true;
    case 'positive':
      return (i, j) => j !== (i + shift) % n;
    case 'self-and-positive':
      return (i, j) => j !== i && j !== (i + shift) % n;
  }
}

function makeKernels(dtype: DType): Kernels {
  const r = dtype === 'f32' ? Math.fround : id;

  /** S = U Vᵀ / τ, rounded per operation in the backend's precision. */
  function logits(U: Matrix, V: Matrix, tau: number): Float64Array {
    const n = U.rows;
    const d = U.cols;
    const m = V.rows;
    const S = new Float64Array(n * m);
    const t = r(tau);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let k = 0; k < d; k++) s = r(s + r(at(U, i, k) * at(V, j, k)));
        S[i * m + j] = r(s / t);
      }
    }
    return S;
  }

  function lseLine(S: Float64Array, n: number, i: number, byRow: boolean, keep: (i: number, j: number) => boolean): number {
    let mx = -Infinity;
    for (let j = 0; j < n; j++) {
      const [a, b] = byRow ? [i, j] : [j, i];
      if (keep(a, b)) mx = Math.max(mx, S[a * n + b]!);
    }
    if (mx === -Infinity) return -Infinity;
    let s = 0;
    for (let j = 0; j < n; j++) {
      const [a, b] = byRow ? [i, j] : [j, i];
      if (keep(a, b)) s = r(s + r(Math.exp(r(S[a * n + b]! - mx))));
    }
    return r(mx + r(Math.log(s)));
  }

  const kernels: Kernels = {
    gemm(alpha, A, B, beta, C) {
      const k = A.cols;
      for (let i = 0; i < C.rows; i++) {
        for (let j = 0; j < C.cols; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s = r(s + r(at(A, i, p) * at(B, p, j)));
          const idx = C.offset + i * C.rowStride + j * C.colStride;
          const prev = beta === 0 ? 0 : r(beta * C.data[idx]!);
          C.data[idx] = r(r(alpha * s) + prev);
        }
      }
    },

    pairLse(U, V, spec, want): PairLseResult {
      const n = U.rows;
      const S = logits(U, V, spec.tau);
      const keep = pairKeep(spec, n);
      const shift = ((spec.positiveShift % n) + n) % n;
      const positive = new Float64Array(n);
      for (let i = 0; i < n; i++) positive[i] = S[i * n + ((i + shift) % n)]!;
      let lseRow: Float64Array | null = null;
      let lseCol: Float64Array | null = null;
      if (want.row) {
        lseRow = new Float64Array(n);
        for (let i = 0; i < n; i++) lseRow[i] = lseLine(S, n, i, true, keep);
      }
      if (want.col) {
        lseCol = new Float64Array(n);
        for (let j = 0; j < n; j++) lseCol[j] = lseLine(S, n, j, false, keep);
      }
      return { lseRow, lseCol, positive };
    },

    pairSoftmaxGrad(U, V, spec, coef: PairGradCoefficients) {
      const n = U.rows;
      const d = U.cols;
      const S = logits(U, V, spec.tau);
      const keep = pairKeep(spec, n);
      const shift = ((spec.positiveShift % n) + n) % n;
      const G = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          if (!keep(i, j)) continue;
          const s = S[i * n + j]!;
          let g = 0;
          if (coef.rowCoef && coef.lseRow) g = r(g + r(coef.rowCoef[i]! * r(Math.exp(r(s - coef.lseRow[i]!)))));
          if (coef.colCoef && coef.lseCol) g = r(g + r(coef.colCoef[j]! * r(Math.exp(r(s - coef.lseCol[j]!)))));
          G[i * n + j] = g;
        }
        if (coef.posCoef) {
          const p = i * n + ((i + shift) % n);
          G[p] = r(G[p]! + coef.posCoef[i]!);
        }
      }
      const gradU = zeros(n, d, dtype);
      const gradV = zeros(n, d, dtype);
      const t = r(spec.tau);
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < d; k++) {
          let a = 0;
          let b = 0;
          for (let j = 0; j < n; j++) {
            a = r(a + r(G[i * n + j]! * at(V, j, k)));
            b = r(b + r(G[j * n + i]! * at(U, j, k)));
          }
          gradU.data[i * d + k] = r(a / t);
          gradV.data[i * d + k] = r(b / t);
        }
      }
      return { gradU, gradV };
    },

    /**
     * The pair sigmoid of types.ts, materialised: S = U Vᵀ (n x n, checked against the memory
     * budget), then per entry ℓ = t·s + b, x = z·ℓ, e = exp(−|x|),
     *   softplus(−x) = max(−x, 0) + log1p(e),  σ(−x) = x ≥ 0 ? e/(1+e) : 1/(1+e),  H = −z·σ(−x),
     * value = Σ softplus(−x), dT = Σ H·s, dB = Σ H, gradU = (tH) V, gradV = (tH)ᵀ U.
     * float64: the three scalar sums are compensated (Neumaier), so the oracle's sums are exact to
     * a few ulps whatever n is; f32: every operation rounded, sums included (the naive float32 maths).
     */
    pairSigmoid(U, V, spec, want): PairSigmoidResult {
      const n = U.rows;
      const d = U.cols;
      const S = allocArray('f64', n * n);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let k = 0; k < d; k++) s = r(s + r(at(U, i, k) * at(V, j, k)));
          S[i * n + j] = s;
        }
      }
      const t = r(spec.t);
      const b = r(spec.b);
      const sums = [0, 0, 0];
      const comp = [0, 0, 0];
      const add = (q: number, x: number) => {
        if (dtype === 'f32') {
          sums[q] = r(sums[q]! + x);
          return;
        }
        const a = sums[q]!;
        const u = a + x;
        comp[q]! += Math.abs(a) >= Math.abs(x) ? a - u + x : x - u + a;
        sums[q] = u;
      };
      const G = want.grad ? allocArray('f64', n * n) : null;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const s = S[i * n + j]!;
          const l = r(r(t * s) + b);
          const x = i === j ? l : -l;
          const e = r(Math.exp(-Math.abs(x)));
          add(0, r(Math.max(-x, 0) + r(Math.log1p(e))));
          if (G) {
            const sg = x >= 0 ? r(e / r(1 + e)) : r(1 / r(1 + e));
            const h = i === j ? -sg : sg;
            add(1, r(h * s));
            add(2, h);
            G[i * n + j] = r(t * h);
          }
        }
      }
      const total = (q: number) => (dtype === 'f32' ? sums[q]! : sums[q]! + comp[q]!);
      if (!G) return { value: total(0), dT: null, dB: null, gradU: null, gradV: null };
      const gradU = zeros(n, d, dtype);
      const gradV = zeros(n, d, dtype);
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < d; k++) {
          let a = 0;
          let c = 0;
          for (let j = 0; j < n; j++) {
            a = r(a + r(G[i * n + j]! * at(V, j, k)));
            c = r(c + r(G[j * n + i]! * at(U, j, k)));
          }
          gradU.data[i * d + k] = a;
          gradV.data[i * d + k] = c;
        }
      }
      return { value: total(0), dT: total(1), dB: total(2), gradU, gradV };
    },
  };
  return kernels;
}

/** The materialised oracle backend (O(n²) memory: small n only). */
export function createReferenceBackend(opts: { dtype?: DType } = {}): Backend {
  const dtype = opts.dtype ?? 'f64';
  return {
    name: 'reference',
    dtype,
    blockSize: 0,
    kernels: makeKernels(dtype),
    info: { materialised: true },
    dispose() {},
  };
}
