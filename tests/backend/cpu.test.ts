/**
 * The CPU (WebAssembly SIMD) backend: the backend contract at several block sizes, block-size
 * independence, the vector exp, and construction errors.
 */
import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { createCpuBackend } from '../../src/backend/cpu/index.ts';
import { instantiateKernels, kernelMemory, kernelModule } from '../../src/backend/cpu/wasm/module.ts';
import type { PairExclusion } from '../../src/backend/types.ts';
import { DomainError } from '../../src/core/errors.ts';
import { type DType, type Matrix, zeros } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import { runBackendContract } from './contract.ts';

for (const blockSize of [8, 16, 64]) {
  runBackendContract(`cpu blockSize=${blockSize}`, (dtype) => createCpuBackend({ dtype, blockSize }));
}

const EPS: Record<DType, number> = { f64: 2 ** -52, f32: 2 ** -23 };

function gauss(rng: Rng, n: number, d: number, dtype: DType, scale: number): Matrix {
  const m = zeros(n, d, dtype);
  for (let i = 0; i < m.data.length; i++) m.data[i] = scale * rng.normal();
  return m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i]!)) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

describe('cpu backend: results do not depend on the block size beyond rounding', { timeout: 60_000 }, () => {
  // Bounds: n ≤ 100 spans up to 13 tiles of 8 and 2 of 64 (and sizes dividing none of them);
  // d ≤ 20; the seed only feeds the library's Rng.
  const arb = fc.record({
    n: fc.integer({ min: 1, max: 100 }),
    d: fc.integer({ min: 1, max: 20 }),
    tau: fc.constantFrom(1, 0.1, 0.01),
    exclude: fc.constantFrom<PairExclusion>('none', 'positive', 'self-and-positive'),
    dtype: fc.constantFrom<DType>('f64', 'f32'),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  });
  const sizes = [8, 24, 64, 128];
  const backends = { f64: sizes.map((b) => createCpuBackend({ dtype: 'f64', blockSize: b })), f32: sizes.map((b) => createCpuBackend({ dtype: 'f32', blockSize: b })) };

  test.prop([arb], { seed: 777, numRuns: 60 })('blockSize 8, 24, 64, 128 agree', ({ n, d, tau, exclude, dtype, seed }) => {
    const rng = Rng.fromSeed(seed);
    // Unit-variance rows scaled by 1/√d: |S| ~ 1/τ.
    const U = gauss(rng, n, d, dtype, 1 / Math.sqrt(d));
    const V = gauss(rng, n, d, dtype, 1 / Math.sqrt(d));
    const spec = { tau, positiveShift: Math.floor(n / 3), exclude };
    const coefs = { rowCoef: Float64Array.from({ length: n }, () => rng.normal()), colCoef: Float64Array.from({ length: n }, () => rng.normal()), posCoef: Float64Array.from({ length: n }, () => rng.normal()) };
    const outs = backends[dtype].map((be) => ({ l: be.kernels.pairLse(U, V, spec, { row: true, col: true }) }));
    // Same lse inputs for the gradient comparison: the first backend's.
    const l0 = outs[0]!.l;
    const grads = backends[dtype].map((be) => be.kernels.pairSoftmaxGrad(U, V, spec, { ...coefs, lseRow: l0.lseRow, lseCol: l0.lseCol }));
    // Logits are sequential dot products whatever the tile: the positives agree bit for bit.
    for (const o of outs) expect(Array.from(o.l.positive)).toEqual(Array.from(l0.positive));
    // Sums are reordered by the tiling: rounding-level differences only (error model of contract.ts).
    let smax = 0;
    for (const x of l0.positive) smax = Math.max(smax, Math.abs(x));
    const maxS = Math.max(smax, maxAbs(l0.lseRow!), maxAbs(l0.lseCol!));
    const tol = 8 * EPS[dtype] * (d + n) * (1 + maxS);
    for (const o of outs) {
      for (const [a, b] of [[o.l.lseRow!, l0.lseRow!], [o.l.lseCol!, l0.lseCol!]] as const) {
        for (let i = 0; i < n; i++) {
          if (a[i] === b[i]) continue;
          expect(Math.abs(a[i]! - b[i]!) / Math.max(1, maxAbs(b))).toBeLessThanOrEqual(tol);
        }
      }
    }
    for (const g of grads) {
      for (const [a, b] of [[g.gradU.data, grads[0]!.gradU.data], [g.gradV.data, grads[0]!.gradV.data]] as const) {
        const scale = maxAbs(b);
        let worst = 0;
        for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
        expect(worst).toBeLessThanOrEqual(tol * scale);
      }
    }
  });
});

describe('cpu backend: the SIMD exponential', () => {
  const ex = instantiateKernels(kernelModule(false).module, kernelMemory());
  const ulp64 = (x: number) => {
    const b = new Float64Array([Math.abs(x)]);
    const i = new BigInt64Array(b.buffer);
    i[0] = i[0]! + 1n;
    return b[0]! - Math.abs(x);
  };

  it('f64: within 2 ulp of Math.exp on [−707, 709.7]; 0 below, ∞ above, exp(−∞) = 0', () => {
    const rng = Rng.fromSeed(31);
    let worst = 0;
    for (let t = 0; t < 20000; t++) {
      const x = t < 10000 ? -707 + 1416.7 * rng.uniform() : -1 + 2 * rng.uniform();
      const got = ex.expF64(x);
      const want = Math.exp(x);
      worst = Math.max(worst, Math.abs(got - want) / ulp64(want));
    }
    expect(worst).toBeLessThanOrEqual(2);
    expect(ex.expF64(0)).toBe(1);
    expect(ex.expF64(-Infinity)).toBe(0);
    expect(ex.expF64(-708)).toBe(0);
    expect(ex.expF64(709.78)).toBeCloseTo(Math.exp(709.78), -300);
    expect(ex.expF64(709.8)).toBe(Infinity);
    expect(ex.expF64(Infinity)).toBe(Infinity);
  });

  it('f32: within 2 float32 ulp of the correctly rounded value on [−86, 88.7]; 0 below, ∞ above', () => {
    const rng = Rng.fromSeed(32);
    let worst = 0;
    for (let t = 0; t < 20000; t++) {
      const x = Math.fround(-86 + 174.7 * rng.uniform());
      const got = ex.expF32(x);
      const want = Math.exp(x);
      const ulp = 2 ** (Math.floor(Math.log2(want)) - 23);
      worst = Math.max(worst, Math.abs(got - want) / ulp);
    }
    expect(worst).toBeLessThanOrEqual(2);
    expect(ex.expF32(0)).toBe(1);
    expect(ex.expF32(-Infinity)).toBe(0);
    expect(ex.expF32(-87)).toBe(0);
    expect(ex.expF32(89)).toBe(Infinity);
  });
});

describe('cpu backend: construction', () => {
  it('rejects block sizes that are not multiples of 8 in [8, 1024]', () => {
    for (const b of [0, 4, 12, 2048, 8.5, NaN]) expect(() => createCpuBackend({ blockSize: b })).toThrow(DomainError);
  });

  it('defaults to float64 and reports its implementation', () => {
    const be = createCpuBackend();
    expect(be.dtype).toBe('f64');
    expect(be.name).toBe('cpu');
    expect(be.blockSize % 8).toBe(0);
    expect(be.info.simd).toBe(true);
    expect(be.info.impl).toBe('wasm-simd128');
  });

  it('refuses calls after dispose', () => {
    const be = createCpuBackend();
    be.dispose();
    expect(() => be.kernels.gemm(1, zeros(1, 1), zeros(1, 1), 0, zeros(1, 1))).toThrow(/disposed/);
  });
});
