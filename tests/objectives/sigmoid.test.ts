/**
 * The sigmoid (SigLIP) loss: the op against central finite differences (U, V, t, b), the blocked
 * CPU kernel against the materialised reference under the contract tolerances of
 * src/backend/tolerance.ts (float64; float32 by the f32 rule), extreme t, memory linear in N,
 * determinism, validation and the objective registry / solver.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../src/backend/cpu/index.ts';
import { blockedPairSigmoid } from '../../src/backend/cpu/sigmoid.ts';
import { randomMatrix } from '../../src/backend/instances.ts';
import { createReferenceBackend } from '../../src/backend/reference.ts';
import {
  EPS, f32RuleBound, maxAbsSigmoidLogit, normwiseError as err, pairFloorF32, pairToleranceF64,
} from '../../src/backend/tolerance.ts';
import type { Backend, PairSigmoidResult } from '../../src/backend/types.ts';
import { CapExceededError, ConfigError, DomainError, ShapeError } from '../../src/core/errors.ts';
import { type DType, type Matrix, type Matrix64, fromRows, zeros } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import { evaluateObjective } from '../../src/objectives/index.ts';
import { sigmoidLossAndGrad } from '../../src/objectives/sigmoid.ts';
import { solveExact } from '../../src/solver/exact.ts';
import * as api from '../../src/index.ts';

const ref64 = createReferenceBackend({ dtype: 'f64' });
const ref32 = createReferenceBackend({ dtype: 'f32' });

function toF64(m: Matrix): Matrix64 {
  const out = zeros(m.rows, m.cols, 'f64');
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) out.data[i * m.cols + j] = m.data[m.offset + i * m.rowStride + j * m.colStride]!;
  return out;
}

/** Magnitudes of the three scalar sums' terms, in float64: Σ softplus, Σ |H s|, Σ |H| (the comparison scales). */
function magnitudes(U: Matrix, V: Matrix, t: number, b: number): [number, number, number] {
  const n = U.rows;
  let mv = 0;
  let mt = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < U.cols; k++) s += U.data[i * U.cols + k]! * V.data[j * V.cols + k]!;
      const x = (i === j ? 1 : -1) * (t * s + b);
      mv += Math.max(-x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
      const sg = 1 / (1 + Math.exp(x));
      mt += sg * Math.abs(s);
      mb += sg;
    }
  }
  return [mv, mt, mb];
}

/** Errors of a kernel result against an oracle: [value, dT, dB, gradU, gradV], scalars relative to their magnitudes. */
function errors(a: PairSigmoidResult, r: PairSigmoidResult, mag: [number, number, number]): number[] {
  const sc = (x: number | null, y: number | null, m: number) => Math.abs(x! - y!) / Math.max(1, m);
  return [sc(a.value, r.value, mag[0]), sc(a.dT, r.dT, mag[1]), sc(a.dB, r.dB, mag[2]), err(a.gradU!.data, r.gradU!.data, 0), err(a.gradV!.data, r.gradV!.data, 0)];
}

const PARAMS: [number, number][] = [[1, 0], [10, -10], [0.5, 2.5], [3, -1]];

describe('sigmoid: the op against central finite differences (float64)', () => {
  const rng = Rng.fromSeed(11);
  for (const backend of [ref64, createCpuBackend({ blockSize: 8 })]) {
    for (const [t, b] of [[1, 0.3], [7, -4], [0.5, 2]] as const) {
      it(`${backend.name}: t = ${t}, b = ${b}, Gaussian rows: dL/dU, dL/dV (directional), dL/dt, dL/db`, () => {
        const n = 11;
        const d = 4;
        const U = randomMatrix(rng, n, d, 'f64', 'gauss', 0.7);
        const V = randomMatrix(rng, n, d, 'f64', 'gauss', 0.7);
        const DU = randomMatrix(rng, n, d, 'f64', 'gauss');
        const DV = randomMatrix(rng, n, d, 'f64', 'gauss');
        const g = sigmoidLossAndGrad(U, V, { t, b, backend });
        const f = (h: number, dt: number, db: number) => {
          const Up = zeros(n, d);
          const Vp = zeros(n, d);
          for (let i = 0; i < n * d; i++) {
            Up.data[i] = U.data[i]! + h * DU.data[i]!;
            Vp.data[i] = V.data[i]! + h * DV.data[i]!;
          }
          return sigmoidLossAndGrad(Up, Vp, { t: t + dt, b: b + db, backend, grad: false }).value;
        };
        const h = 1e-5;
        let dir = 0;
        for (let i = 0; i < n * d; i++) dir += g.gradU!.data[i]! * DU.data[i]! + g.gradV!.data[i]! * DV.data[i]!;
        const fdDir = (f(h, 0, 0) - f(-h, 0, 0)) / (2 * h);
        const fdT = (f(0, h, 0) - f(0, -h, 0)) / (2 * h);
        const fdB = (f(0, 0, h) - f(0, 0, -h)) / (2 * h);
        // Central differences: truncation ~h²·|f'''| (t³-scaled) and rounding ~ε|f|/h, both below 1e-7 here;
        // a wrong sign, factor or transpose is O(1).
        expect(Math.abs(fdDir - dir)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(dir)));
        expect(Math.abs(fdT - g.gradT!)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(g.gradT!)));
        expect(Math.abs(fdB - g.gradB!)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(g.gradB!)));
        // Entrywise on a few coordinates of U and of V separately (a swapped gradU / gradV pair cancels in no direction).
        for (const [which, i, k] of [['U', 0, 0], ['U', n - 1, d - 1], ['V', 3, 1], ['V', n - 1, 0]] as const) {
          const M = which === 'U' ? U : V;
          const at = (delta: number) => {
            const Mp = zeros(n, d);
            Mp.data.set(M.data);
            Mp.data[i * d + k]! += delta;
            return sigmoidLossAndGrad(which === 'U' ? Mp : U, which === 'V' ? Mp : V, { t, b, backend, grad: false }).value;
          };
          const fd = (at(h) - at(-h)) / (2 * h);
          const an = (which === 'U' ? g.gradU! : g.gradV!).data[i * d + k]!;
          expect(Math.abs(fd - an), `${which}[${i},${k}]`).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(an)));
        }
      });
    }
  }

  it('N = 1 and N = 2 by hand: L = (1/N) Σ softplus(−z(t s + b))', () => {
    const sp = (y: number) => Math.log1p(Math.exp(y));
    const U = fromRows([[0.6, 0.8]]);
    const V = fromRows([[1, 0]]);
    expect(sigmoidLossAndGrad(U, V, { t: 2, b: -1 }).value).toBeCloseTo(sp(-(2 * 0.6 - 1)), 14);
    const U2 = fromRows([[1, 0], [0, 1]]);
    const V2 = fromRows([[0.6, 0.8], [0.8, -0.6]]);
    // s = [[0.6, 0.8], [0.8, -0.6]]
    const want = (sp(-(3 * 0.6 + 0.5)) + sp(3 * 0.8 + 0.5) + sp(3 * 0.8 + 0.5) + sp(-(3 * -0.6 + 0.5))) / 2;
    for (const backend of [ref64, createCpuBackend()]) expect(sigmoidLossAndGrad(U2, V2, { t: 3, b: 0.5, backend }).value).toBeCloseTo(want, 14);
  });
});

describe('sigmoid: blocked cpu kernel = materialised reference (float64, contract tolerance)', () => {
  const rng = Rng.fromSeed(5);
  for (const T of [8, 16, 24, 128]) {
    it(`blockSize ${T}: n in 1..50 (not multiples of T), d in {1, 3, 12}, unit and Gaussian rows`, () => {
      const cpu = createCpuBackend({ blockSize: T });
      let worst = 0;
      for (const n of [1, 2, 7, 13, 37, 50]) {
        for (const d of [1, 3, 12]) {
          for (const [t, b] of PARAMS) {
            const kind = rng.uniform() < 0.5 ? 'unit' : 'gauss';
            const U = randomMatrix(rng, n, d, 'f64', kind);
            const V = randomMatrix(rng, n, d, 'f64', kind);
            const a = cpu.kernels.pairSigmoid(U, V, { t, b }, { grad: true });
            const r = ref64.kernels.pairSigmoid(U, V, { t, b }, { grad: true });
            const tol = pairToleranceF64(maxAbsSigmoidLogit(U, V, t, b));
            const e = errors(a, r, magnitudes(U, V, t, b));
            for (const [q, x] of e.entries()) expect(x, `n=${n} d=${d} t=${t} b=${b} ${kind} quantity ${q}`).toBeLessThanOrEqual(tol);
            worst = Math.max(worst, ...e.map((x) => x / tol));
            // grad: false gives the same value and no gradients.
            const v = cpu.kernels.pairSigmoid(U, V, { t, b }, { grad: false });
            expect(v.value).toBe(a.value);
            expect([v.dT, v.dB, v.gradU, v.gradV]).toEqual([null, null, null, null]);
          }
        }
      }
      expect(worst).toBeLessThanOrEqual(1);
    });
  }

  it('deterministic: the same inputs give the same bits; another block size agrees to rounding', () => {
    const rng2 = Rng.fromSeed(9);
    const U = randomMatrix(rng2, 77, 5, 'f64', 'unit');
    const V = randomMatrix(rng2, 77, 5, 'f64', 'unit');
    const a = createCpuBackend({ blockSize: 16 }).kernels.pairSigmoid(U, V, { t: 10, b: -10 }, { grad: true });
    const b = createCpuBackend({ blockSize: 16 }).kernels.pairSigmoid(U, V, { t: 10, b: -10 }, { grad: true });
    expect([b.value, b.dT, b.dB]).toEqual([a.value, a.dT, a.dB]);
    expect(Array.from(b.gradU!.data)).toEqual(Array.from(a.gradU!.data));
    expect(Array.from(b.gradV!.data)).toEqual(Array.from(a.gradV!.data));
    const c = createCpuBackend({ blockSize: 40 }).kernels.pairSigmoid(U, V, { t: 10, b: -10 }, { grad: true });
    const tol = pairToleranceF64(maxAbsSigmoidLogit(U, V, 10, -10));
    for (const x of errors(c, a, magnitudes(U, V, 10, -10))) expect(x).toBeLessThanOrEqual(tol);
  });
});

describe('sigmoid: float32 by the f32 rule (cpu f32 against the float64 oracle, at most 2x naive float32 + floor)', () => {
  for (const T of [8, 16]) {
    it(`blockSize ${T}`, () => {
      const rng = Rng.fromSeed(21 + T);
      const cpu32 = createCpuBackend({ dtype: 'f32', blockSize: T });
      for (const n of [3, 19, 40]) {
        for (const d of [2, 9]) {
          for (const [t, b] of PARAMS) {
            const kind = rng.uniform() < 0.5 ? 'unit' : 'gauss';
            const U32 = randomMatrix(rng, n, d, 'f32', kind);
            const V32 = randomMatrix(rng, n, d, 'f32', kind);
            const U = toF64(U32);
            const V = toF64(V32);
            const mag = magnitudes(U, V, t, b);
            const oracle = ref64.kernels.pairSigmoid(U, V, { t, b }, { grad: true });
            const naive = errors(ref32.kernels.pairSigmoid(U32, V32, { t, b }, { grad: true }), oracle, mag);
            const got = errors(cpu32.kernels.pairSigmoid(U32, V32, { t, b }, { grad: true }), oracle, mag);
            const floor = pairFloorF32(maxAbsSigmoidLogit(U, V, t, b));
            for (let q = 0; q < got.length; q++) {
              expect(got[q], `n=${n} d=${d} t=${t} b=${b} quantity ${q}: naive f32 ${naive[q]}`).toBeLessThanOrEqual(f32RuleBound(naive[q]!, floor));
            }
          }
        }
      }
    });
  }
});

describe('sigmoid: extreme scale t = 1000 (stable softplus and σ)', () => {
  it('a single pair with logit −1000: value 1000, gradient t·(−1)·v, no overflow', () => {
    const U = fromRows([[1, 0]]);
    const V = fromRows([[-1, 0]]);
    for (const backend of [ref64, createCpuBackend(), createCpuBackend({ dtype: 'f32' })]) {
      const r = sigmoidLossAndGrad(U, V, { t: 1000, b: 0, backend });
      expect(r.value).toBe(1000);
      expect(Array.from(r.gradU!.data)).toEqual([1000, 0]);
      expect(Array.from(r.gradV!.data)).toEqual([-1000, 0]);
      expect(r.gradT).toBe(1); // H·s = (−1)(−1)
      expect(r.gradB).toBe(-1);
    }
  });

  it('unit rows at t = 1000, b in {0, −10, 500}: finite everywhere, cpu = reference within the tolerance', () => {
    const rng = Rng.fromSeed(4);
    for (const b of [0, -10, 500]) {
      const U = randomMatrix(rng, 30, 4, 'f64', 'unit');
      const V = randomMatrix(rng, 30, 4, 'f64', 'unit');
      for (const dtype of ['f64', 'f32'] as DType[]) {
        const r = sigmoidLossAndGrad(U, V, { t: 1000, b, backend: createCpuBackend({ dtype, blockSize: 8 }) });
        expect(Number.isFinite(r.value) && Number.isFinite(r.gradT!) && Number.isFinite(r.gradB!)).toBe(true);
        expect(r.gradU!.data.every(Number.isFinite) && r.gradV!.data.every(Number.isFinite)).toBe(true);
      }
      const a = createCpuBackend({ blockSize: 8 }).kernels.pairSigmoid(U, V, { t: 1000, b }, { grad: true });
      const o = ref64.kernels.pairSigmoid(U, V, { t: 1000, b }, { grad: true });
      const tol = pairToleranceF64(maxAbsSigmoidLogit(U, V, 1000, b));
      for (const x of errors(a, o, magnitudes(U, V, 1000, b))) expect(x).toBeLessThanOrEqual(tol);
    }
  });
});

describe('sigmoid: memory linear in N (never n x n)', () => {
  const saved = process.env.CONTRASTLAB_MEMORY_BUDGET;
  afterEach(() => {
    if (saved === undefined) delete process.env.CONTRASTLAB_MEMORY_BUDGET;
    else process.env.CONTRASTLAB_MEMORY_BUDGET = saved;
  });

  it('every gemm of the blocked kernel touches at most T x max(T, d) entries (recorded at N = 1000, T = 64)', () => {
    const cpu = createCpuBackend({ blockSize: 64 });
    const rng = Rng.fromSeed(2);
    const n = 1000;
    const U = randomMatrix(rng, n, 8, 'f64', 'unit');
    const V = randomMatrix(rng, n, 8, 'f64', 'unit');
    let largest = 0;
    let calls = 0;
    const gemm = (alpha: number, A: Matrix, B: Matrix, beta: number, C: Matrix) => {
      calls++;
      largest = Math.max(largest, A.rows * A.cols, B.rows * B.cols, C.rows * C.cols);
      cpu.kernels.gemm(alpha, A, B, beta, C);
    };
    const r = blockedPairSigmoid(gemm, 'f64', 64, U, V, { t: 10, b: -10 }, { grad: true });
    expect(largest).toBeLessThanOrEqual(64 * 64);
    expect(calls).toBe(3 * Math.ceil(n / 64) ** 2);
    const direct = cpu.kernels.pairSigmoid(U, V, { t: 10, b: -10 }, { grad: true });
    expect(r.value).toBe(direct.value);
  });

  it('under an 8 MiB memory budget the reference (n x n) refuses N = 2000 and the blocked kernel runs it', () => {
    process.env.CONTRASTLAB_MEMORY_BUDGET = '8MiB'; // n² float64 = 30.5 MiB
    const rng = Rng.fromSeed(3);
    const U = randomMatrix(rng, 2000, 8, 'f64', 'unit');
    const V = randomMatrix(rng, 2000, 8, 'f64', 'unit');
    expect(() => sigmoidLossAndGrad(U, V, { t: 10, b: -10, backend: ref64 })).toThrow(CapExceededError);
    const r = sigmoidLossAndGrad(U, V, { t: 10, b: -10, backend: createCpuBackend() });
    expect(Number.isFinite(r.value) && r.gradU!.rows === 2000).toBe(true);
  }, 120_000);
});

describe('sigmoid: the op boundary, the registry and the solver', () => {
  const U = randomMatrix(Rng.fromSeed(1), 5, 3, 'f64', 'unit');
  const V = randomMatrix(Rng.fromSeed(2), 5, 3, 'f64', 'unit');

  it('t must be finite > 0 and b finite: DomainErrors naming the value', () => {
    for (const t of [0, -1, NaN, Infinity]) expect(() => sigmoidLossAndGrad(U, V, { t })).toThrow(DomainError);
    expect(() => sigmoidLossAndGrad(U, V, { t: 0 })).toThrow(/sigmoid: t \(the scale\) must be a finite number > 0, got 0/);
    for (const b of [NaN, Infinity, -Infinity]) expect(() => sigmoidLossAndGrad(U, V, { b })).toThrow(/sigmoid: b \(the bias\) must be a finite number, got/);
    expect(() => sigmoidLossAndGrad(U, randomMatrix(Rng.fromSeed(2), 4, 3, 'f64', 'unit'))).toThrow(ShapeError);
    expect(() => sigmoidLossAndGrad(zeros(0, 3), zeros(0, 3))).toThrow(ShapeError);
  });

  it('defaults are SigLIP\'s initialisation t = 10, b = −10; grad: false gives nulls', () => {
    const a = sigmoidLossAndGrad(U, V);
    const b = sigmoidLossAndGrad(U, V, { t: 10, b: -10 });
    expect(a.value).toBe(b.value);
    const v = sigmoidLossAndGrad(U, V, { grad: false });
    expect(v.value).toBe(a.value);
    expect([v.gradU, v.gradV, v.gradT, v.gradB]).toEqual([null, null, null, null]);
  });

  it('registered as { name: "sigmoid", t, b }: evaluateObjective agrees; tau is refused for it, t / b for the others', () => {
    const r = evaluateObjective({ name: 'sigmoid', t: 4, b: -2 }, U, V);
    const s = sigmoidLossAndGrad(U, V, { t: 4, b: -2 });
    expect(r.value).toBe(s.value);
    expect(Array.from(r.gradU!.data)).toEqual(Array.from(s.gradU!.data));
    expect(() => evaluateObjective({ name: 'sigmoid', tau: 0.1 }, U, V)).toThrow(ConfigError);
    expect(() => evaluateObjective({ name: 'infonce', t: 3 }, U, V)).toThrow(ConfigError);
    expect(api.OBJECTIVE_NAMES).toContain('sigmoid');
    expect(api.sigmoidLossAndGrad).toBe(sigmoidLossAndGrad);
  });

  it('the exact solver descends the sigmoid loss on the spheres', () => {
    const res = solveExact({ n: 6, d: 3, objective: { name: 'sigmoid', t: 5, b: -2 }, steps: 300, lr: 0.05, seed: 1 });
    const first = res.trace[0]!;
    const last = res.trace[res.trace.length - 1]!;
    expect(last.loss).toBeLessThan(first.loss - 0.1);
    expect(last.gradNorm).toBeLessThan(first.gradNorm);
    expect(res.optimum).toBeNull();
  });

  it('float32 backends give float64 results close to float64', () => {
    const a = sigmoidLossAndGrad(U, V, { t: 3, b: 0.5 });
    const backend: Backend = createCpuBackend({ dtype: 'f32' });
    const b = sigmoidLossAndGrad(U, V, { t: 3, b: 0.5, backend });
    expect(b.gradU!.data).toBeInstanceOf(Float64Array);
    expect(Math.abs(a.value - b.value)).toBeLessThan(1e3 * EPS.f32 * Math.abs(a.value));
  });
});
