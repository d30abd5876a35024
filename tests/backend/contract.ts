/**
 * The backend contract: one test body run against every backend (tfjs style).
 *
 *   runBackendContract('cpu T=16', (dtype) => createCpuBackend({ dtype, blockSize: 16 }));
 *
 * Oracles: a naive triple loop in float64 for gemm; the materialised reference backend
 * (src/backend/reference.ts) for the pair softmax.
 *
 * Tolerances: src/backend/tolerance.ts (normwise errors; float64 16·ε64·(1 + max|S|) for the pair
 * softmax and the classical (k + 2)·ε64 bound for gemm; float32 by flash-attention's rule
 * err(backend_f32, ref_f64) ≤ 2·err(ref_f32, ref_f64) + floor, with the floors derived there).
 */
import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import type { Backend } from '../../src/backend/types.ts';
import type { PairExclusion, PairGradCoefficients, PairSpec } from '../../src/backend/types.ts';
import { createReferenceBackend } from '../../src/backend/reference.ts';
import { pairInstance, type PairInstanceParams, randomMatrix } from '../../src/backend/instances.ts';
import {
  EPS, f32RuleBound, gemmFloorF32, maxAbsFinite as maxAbs, maxAbsLogit, normwiseError as err, pairFloorF32, pairToleranceF64,
} from '../../src/backend/tolerance.ts';
import { type DType, type FloatArray, type Matrix, allocArray, block, matrix, rowRange, transpose, zeros } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';

const EXCLUDES: PairExclusion[] = ['none', 'positive', 'self-and-positive'];

// ------------------------------------------------------------------ helpers

/** A float64 copy of any (strided) matrix. */
export function toF64(m: Matrix): Matrix {
  const out = zeros(m.rows, m.cols, 'f64');
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) out.data[i * m.cols + j] = m.data[m.offset + i * m.rowStride + j * m.colStride]!;
  return out;
}

interface PairCase {
  U: Matrix; // in the backend dtype
  V: Matrix;
  spec: PairSpec;
  coef: Omit<PairGradCoefficients, 'lseRow' | 'lseCol'>;
}

/**
 * Generates a pair-softmax instance. layout 'pairs': independent U, V, positive shift 0;
 * 'shifted': independent U, V, shift ⌊n/2⌋; 'stacked': n = 2m, U = V = [X; Y] and shift m (the
 * unimodal GCL layout, where (i, i) is the huge self-similarity and (i, i+m) the positive).
 */
function makePairCase(dtype: DType, p: PairInstanceParams & { seed: number }): PairCase {
  return pairInstance(Rng.fromSeed(p.seed), dtype, p);
}

// ------------------------------------------------------------------ arbitraries

// Bounds: n ≤ 40 and d ≤ 12 keep the materialised O(n²d) oracle (per-op float32 rounding in JS)
// cheap while n spans several tiles of the smallest block sizes (8, 16) and sizes that do not
// divide them; n ≥ 1 includes the degenerate N = 1 and N = 2 cases.
const pairArb = fc.record({
  n: fc.integer({ min: 1, max: 40 }),
  d: fc.integer({ min: 1, max: 12 }),
  // The three temperatures of the contract: τ = 0.01 makes exp(1/τ) overflow float32.
  tau: fc.constantFrom(1, 0.1, 0.01),
  exclude: fc.constantFrom(...EXCLUDES),
  layout: fc.constantFrom('pairs' as const, 'shifted' as const, 'stacked' as const),
  // Unit rows (|S| ≤ 1/τ) or standard Gaussian entries (|S| up to ~d·few/τ: long-range logits that
  // exercise the two-exponential fallback of blocked kernels).
  kind: fc.constantFrom('unit' as const, 'gauss' as const),
  // The seed only feeds the library's Rng; any 32-bit value is fine.
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  // Bit b set: coefficient vector b (row, col, pos) is random, else null.
  coefMask: fc.integer({ min: 0, max: 7 }),
});

// Bounds: shapes up to 24 keep the naive oracle instant; 0 is allowed (empty products, k = 0).
const gemmArb = fc.record({
  m: fc.integer({ min: 0, max: 24 }),
  n: fc.integer({ min: 0, max: 24 }),
  k: fc.integer({ min: 0, max: 24 }),
  // How A, B, C are presented: contiguous, transposed view, block of a larger matrix, every other row.
  viewA: fc.constantFrom('plain', 'transposed', 'block', 'strided'),
  viewB: fc.constantFrom('plain', 'transposed', 'block', 'strided'),
  viewC: fc.constantFrom('plain', 'transposed', 'block', 'strided'),
  // α, β from a small set that includes 0 (β = 0 must not read C) and non-trivial values.
  alpha: fc.constantFrom(1, -0.5, 2.25, 0),
  beta: fc.constantFrom(0, 1, -1.5),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});

type View = 'plain' | 'transposed' | 'block' | 'strided';

/**
 * An r x c matrix presented as `view`, with the surrounding buffer filled with `pad` (so writes
 * outside the view and reads of unrelated memory are detectable).
 */
function presented(rng: Rng, r: number, c: number, dtype: DType, view: View, pad: number): { M: Matrix; values: number[][] } {
  const values = Array.from({ length: r }, () => Array.from({ length: c }, () => rng.normal()));
  let M: Matrix;
  if (view === 'plain') {
    M = zeros(r, c, dtype);
  } else if (view === 'transposed') {
    M = transpose(zeros(c, r, dtype));
  } else if (view === 'block') {
    const big = matrix(allocArray(dtype, (r + 3) * (c + 2)).fill(pad), r + 3, c + 2);
    M = block(big, 2, 1, r, c);
  } else {
    const big = matrix(allocArray(dtype, (2 * r + 1) * c).fill(pad), 2 * r + 1, c);
    M = rowRange(big, 1, r, 2);
  }
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) M.data[M.offset + i * M.rowStride + j * M.colStride] = values[i]![j]!;
  // Read back (values are rounded to the dtype).
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) values[i]![j] = M.data[M.offset + i * M.rowStride + j * M.colStride]!;
  return { M, values };
}

function viewValues(M: Matrix): number[][] {
  return Array.from({ length: M.rows }, (_, i) => Array.from({ length: M.cols }, (_, j) => M.data[M.offset + i * M.rowStride + j * M.colStride]!));
}

/** The set of buffer indices a view covers. */
function viewIndices(M: Matrix): Set<number> {
  const s = new Set<number>();
  for (let i = 0; i < M.rows; i++) for (let j = 0; j < M.cols; j++) s.add(M.offset + i * M.rowStride + j * M.colStride);
  return s;
}

// ------------------------------------------------------------------ the contract

export interface ContractOptions {
  /** The dtypes the backend provides (default both; the gpujs backend is float32 only). */
  dtypes?: readonly DType[];
}

export function runBackendContract(label: string, make: (dtype: DType) => Backend, opts: ContractOptions = {}): void {
  // Timeout: the properties took up to 26 s (gpujs, llvmpipe) at load 5 on 2 cores and 164 s at
  // load 16; the cpu backend's up to 11 s at load 16. Nothing here may fail for being slow.
  describe(`backend contract: ${label}`, { timeout: 600_000 }, () => {
    for (const dtype of opts.dtypes ?? (['f64', 'f32'] as const)) {
      describe(dtype, () => {
        const be = make(dtype);
        const ref64 = createReferenceBackend({ dtype: 'f64' });
        const ref32 = createReferenceBackend({ dtype: 'f32' });

        it('reports its dtype and a kernel table', () => {
          expect(be.dtype).toBe(dtype);
          expect(typeof be.kernels.gemm).toBe('function');
          expect(typeof be.kernels.pairLse).toBe('function');
          expect(typeof be.kernels.pairSoftmaxGrad).toBe('function');
        });

        // ---------------------------------------------------------- gemm

        test.prop([gemmArb], { seed: 4242, numRuns: 120 })('gemm matches a naive triple loop on strided / transposed views', (g) => {
          const rng = Rng.fromSeed(g.seed);
          const A = presented(rng, g.m, g.k, dtype, g.viewA as View, 7);
          const B = presented(rng, g.k, g.n, dtype, g.viewB as View, 7);
          // β = 0: C starts as NaN, which must not leak into the result.
          const C = presented(rng, g.m, g.n, dtype, g.viewC as View, 7);
          if (g.beta === 0) for (const idx of viewIndices(C.M)) C.M.data[idx] = NaN;
          const C0 = viewValues(C.M);
          const inside = viewIndices(C.M);
          const before = C.M.data.slice();
          be.kernels.gemm(g.alpha, A.M, B.M, g.beta, C.M);
          const got = viewValues(C.M);
          // Nothing outside the view changed.
          for (let i = 0; i < before.length; i++) if (!inside.has(i)) expect(Object.is(C.M.data[i], before[i])).toBe(true);
          // Naive float64 oracle and the elementwise bound.
          let worst = 0;
          let bound = 0;
          const cand: number[] = [];
          const exact: number[] = [];
          for (let i = 0; i < g.m; i++) {
            for (let j = 0; j < g.n; j++) {
              let s = 0;
              let sa = 0;
              for (let p = 0; p < g.k; p++) {
                s += A.values[i]![p]! * B.values[p]![j]!;
                sa += Math.abs(A.values[i]![p]! * B.values[p]![j]!);
              }
              const c0 = g.beta === 0 ? 0 : C0[i]![j]!;
              const r = g.alpha * s + g.beta * c0;
              const mag = Math.abs(g.alpha) * sa + Math.abs(g.beta) * Math.abs(c0);
              expect(Number.isFinite(got[i]![j]!)).toBe(true);
              worst = Math.max(worst, Math.abs(got[i]![j]! - r));
              bound = Math.max(bound, mag);
              cand.push(got[i]![j]!);
              exact.push(r);
            }
          }
          if (dtype === 'f64') {
            expect(worst).toBeLessThanOrEqual((g.k + 2) * EPS.f64 * bound);
          } else {
            // The same maths in float32 (reference backend, per-op rounding) on the same values.
            const Cr = presented(rng, g.m, g.n, 'f32', 'plain', 0).M;
            for (let i = 0; i < g.m; i++) for (let j = 0; j < g.n; j++) Cr.data[i * g.n + j] = g.beta === 0 ? NaN : C0[i]![j]!;
            ref32.kernels.gemm(g.alpha, A.M, B.M, g.beta, Cr);
            const scale = maxAbs(exact);
            const e32 = err(Array.from(Cr.data), exact, 0);
            expect(err(cand, exact, 0)).toBeLessThanOrEqual(f32RuleBound(e32, gemmFloorF32(g.k, bound, scale)));
          }
        });

        it('gemm across cache blocks (k > 256, m > 96, n > 512) and A·Bᵀ, Aᵀ·B shapes', () => {
          const rng = Rng.fromSeed(99);
          for (const [m, n, k, vA, vB] of [
            [100, 520, 300, 'plain', 'transposed'],
            [97, 33, 261, 'transposed', 'plain'],
            [5, 600, 3, 'strided', 'block'],
          ] as [number, number, number, View, View][]) {
            const A = presented(rng, m, k, dtype, vA, 0);
            const B = presented(rng, k, n, dtype, vB, 0);
            const C = zeros(m, n, dtype);
            be.kernels.gemm(1, A.M, B.M, 0, C);
            let worst = 0;
            let bound = 0;
            for (let i = 0; i < m; i++) {
              for (let j = 0; j < n; j++) {
                let s = 0;
                let sa = 0;
                for (let p = 0; p < k; p++) {
                  s += A.values[i]![p]! * B.values[p]![j]!;
                  sa += Math.abs(A.values[i]![p]! * B.values[p]![j]!);
                }
                worst = Math.max(worst, Math.abs(C.data[i * n + j]! - s));
                bound = Math.max(bound, sa);
              }
            }
            // float32: the classical bound with ε32 (the rule's floor term; a naive float32 loop meets it too).
            expect(worst).toBeLessThanOrEqual((k + 2) * EPS[dtype] * bound);
          }
        });

        // ---------------------------------------------------------- pair softmax

        const checkPair = (p: Parameters<typeof makePairCase>[1]) => {
          const c = makePairCase(dtype, p);
          const n = c.U.rows;
          const d = c.U.cols;
          const U64 = toF64(c.U);
          const V64 = toF64(c.V);
          const want = { row: true, col: true };
          const r64 = ref64.kernels.pairLse(U64, V64, c.spec, want);
          const got = be.kernels.pairLse(c.U, c.V, c.spec, want);
          const coef: PairGradCoefficients = { ...c.coef, lseRow: r64.lseRow, lseCol: r64.lseCol };
          const g64 = ref64.kernels.pairSoftmaxGrad(U64, V64, c.spec, coef);
          const gg = be.kernels.pairSoftmaxGrad(c.U, c.V, c.spec, coef);
          expect(gg.gradU.rows).toBe(n);
          expect(gg.gradU.cols).toBe(d);
          expect(gg.gradU.data instanceof (dtype === 'f64' ? Float64Array : Float32Array)).toBe(true);
          for (const x of [got.lseRow!, got.lseCol!, got.positive]) for (const v of x) expect(Number.isNaN(v) || v === Infinity).toBe(false);
          for (const x of [gg.gradU.data, gg.gradV.data]) for (const v of x) expect(Number.isFinite(v)).toBe(true);
          const S = maxAbsLogit(U64, V64, c.spec.tau);
          const pairs: [string, FloatArray | Float64Array, FloatArray | Float64Array, number][] = [
            ['lseRow', got.lseRow!, r64.lseRow!, 1],
            ['lseCol', got.lseCol!, r64.lseCol!, 1],
            ['positive', got.positive, r64.positive, 1],
            ['gradU', gg.gradU.data, g64.gradU.data, 0],
            ['gradV', gg.gradV.data, g64.gradV.data, 0],
          ];
          if (dtype === 'f64') {
            const tol = pairToleranceF64(S);
            for (const [name, x, r, sf] of pairs) expect(err(x, r, sf), name).toBeLessThanOrEqual(tol);
          } else {
            const r32 = ref32.kernels.pairLse(c.U, c.V, c.spec, want);
            const g32 = ref32.kernels.pairSoftmaxGrad(c.U, c.V, c.spec, coef);
            const naive = [r32.lseRow!, r32.lseCol!, r32.positive, g32.gradU.data, g32.gradV.data];
            const floor = pairFloorF32(S);
            pairs.forEach(([name, x, r, sf], q) => {
              expect(err(x, r, sf), name).toBeLessThanOrEqual(f32RuleBound(err(naive[q]!, r, sf), floor));
            });
          }
        };

        test.prop([pairArb], { seed: 20261122, numRuns: 150 })('pairLse and pairSoftmaxGrad match the materialised reference', (p) => {
          checkPair(p);
        });

        it('pair softmax on sizes spanning several large tiles (n = 70, 131)', () => {
          for (const n of [70, 131]) {
            for (const exclude of EXCLUDES) {
              checkPair({ n, d: 9, tau: 0.1, exclude, layout: 'stacked', kind: 'unit', seed: n, coefMask: 7 });
              checkPair({ n, d: 5, tau: 0.01, exclude, layout: 'pairs', kind: 'gauss', seed: n + 1, coefMask: 3 });
            }
          }
        });

        it('N = 1 with the positive excluded: lse = −∞, positive = S₀₀, only posCoef reaches G', () => {
          const U = matrix(allocArray(dtype, 3).fill(0.5), 1, 3);
          const V = matrix(allocArray(dtype, 3).fill(-0.25), 1, 3);
          for (const exclude of ['positive', 'self-and-positive'] as const) {
            const spec = { tau: 0.1, positiveShift: 0, exclude };
            const r = be.kernels.pairLse(U, V, spec, { row: true, col: true });
            expect(r.lseRow![0]).toBe(-Infinity);
            expect(r.lseCol![0]).toBe(-Infinity);
            expect(r.positive[0]).toBeCloseTo((3 * 0.5 * -0.25) / 0.1, 5);
            const one = new Float64Array([1]);
            const g = be.kernels.pairSoftmaxGrad(U, V, spec, { lseRow: r.lseRow, lseCol: r.lseCol, rowCoef: one, colCoef: one, posCoef: new Float64Array([2]) });
            // G = [2]: gradU = 2·V/τ, gradV = 2·U/τ.
            for (let k = 0; k < 3; k++) {
              expect(g.gradU.data[k]).toBeCloseTo((2 * -0.25) / 0.1, 5);
              expect(g.gradV.data[k]).toBeCloseTo((2 * 0.5) / 0.1, 5);
            }
          }
        });

        it('N = 2 stacked with self and positive excluded: every entry excluded', () => {
          const rng = Rng.fromSeed(5);
          const U = randomMatrix(rng, 2, 4, dtype, 'unit');
          const spec = { tau: 0.01, positiveShift: 1, exclude: 'self-and-positive' as const };
          const r = be.kernels.pairLse(U, U, spec, { row: true, col: false });
          expect(Array.from(r.lseRow!)).toEqual([-Infinity, -Infinity]);
          expect(r.lseCol).toBeNull();
          const g = be.kernels.pairSoftmaxGrad(U, U, spec, { lseRow: r.lseRow, lseCol: null, rowCoef: new Float64Array([1, 1]), colCoef: null, posCoef: null });
          expect(Array.from(g.gradU.data).every((x) => x === 0)).toBe(true);
          expect(Array.from(g.gradV.data).every((x) => x === 0)).toBe(true);
        });

        it('null coefficient vectors give zero gradients', () => {
          const c = makePairCase(dtype, { n: 11, d: 3, tau: 0.1, exclude: 'none', layout: 'pairs', kind: 'unit', seed: 3, coefMask: 0 });
          const g = be.kernels.pairSoftmaxGrad(c.U, c.V, c.spec, { lseRow: null, lseCol: null, rowCoef: null, colCoef: null, posCoef: null });
          expect(Array.from(g.gradU.data).every((x) => x === 0)).toBe(true);
          expect(Array.from(g.gradV.data).every((x) => x === 0)).toBe(true);
        });

        it('τ = 0.01 with aligned unit rows (S_ii = 100, exp(100) overflows float32) stays finite and accurate', () => {
          checkPair({ n: 37, d: 6, tau: 0.01, exclude: 'none', layout: 'stacked', kind: 'unit', seed: 11, coefMask: 7 });
          const c = makePairCase(dtype, { n: 20, d: 6, tau: 0.01, exclude: 'none', layout: 'stacked', kind: 'unit', seed: 12, coefMask: 7 });
          const r = be.kernels.pairLse(c.U, c.V, c.spec, { row: true, col: true });
          for (const v of r.lseRow!) expect(v).toBeGreaterThan(99);
          for (const v of r.lseRow!) expect(Number.isFinite(v)).toBe(true);
        });

        it('is deterministic: same inputs give bit-identical results, also after other calls', () => {
          const p = { n: 37, d: 9, tau: 0.1, exclude: 'positive' as const, layout: 'shifted' as const, kind: 'gauss' as const, seed: 8, coefMask: 7 };
          const run = () => {
            const c = makePairCase(dtype, p);
            const l = be.kernels.pairLse(c.U, c.V, c.spec, { row: true, col: true });
            const g = be.kernels.pairSoftmaxGrad(c.U, c.V, c.spec, { ...c.coef, lseRow: l.lseRow, lseCol: l.lseCol });
            return [l.lseRow!, l.lseCol!, l.positive, g.gradU.data, g.gradV.data].map((a) => Array.from(a));
          };
          const first = run();
          // A larger call in between (reuses and grows any workspace) must not leak into the next.
          const big = makePairCase(dtype, { ...p, n: 90, d: 13, seed: 9 });
          be.kernels.pairLse(big.U, big.V, big.spec, { row: true, col: true });
          be.kernels.pairSoftmaxGrad(big.U, big.V, big.spec, { ...big.coef, lseRow: new Float64Array(90), lseCol: new Float64Array(90) });
          const C = zeros(40, 50, dtype);
          be.kernels.gemm(1, randomMatrix(Rng.fromSeed(1), 40, 30, dtype, 'gauss'), transpose(randomMatrix(Rng.fromSeed(2), 50, 30, dtype, 'gauss')), 0, C);
          const second = run();
          expect(second).toEqual(first); // toEqual on numbers distinguishes bits except ±0; check those too
          for (let q = 0; q < first.length; q++) for (let i = 0; i < first[q]!.length; i++) expect(Object.is(second[q]![i], first[q]![i])).toBe(true);
        });
      });
    }
  });
}
