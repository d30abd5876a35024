/**
 * The CPU backend on several threads: the same bits for 1, 2 and 3 threads (gemm, pairLse,
 * pairSoftmaxGrad, every exclusion, sizes that are not multiples of the tile), the backend contract
 * on threads, the relaxed-SIMD (FMA) build judged by the written tolerance rules, and the options'
 * errors. Mutant: merging the threads' column contributions in arrival order (mergeOrder 'arrival')
 * must be caught.
 */
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { createCpuBackend } from '../../src/backend/cpu/index.ts';
import { relaxedSimdAvailable } from '../../src/backend/cpu/wasm/module.ts';
import type { Backend, PairExclusion } from '../../src/backend/types.ts';
import { ConfigError, DomainError } from '../../src/core/errors.ts';
import { type DType, type Matrix, dtypeOf, zeros } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import { runBackendContract } from './contract.ts';

function gauss(rng: Rng, n: number, d: number, dtype: DType, scale: number): Matrix {
  const m = zeros(n, d, dtype);
  for (let i = 0; i < m.data.length; i++) m.data[i] = scale * rng.normal();
  return m;
}

/** Every output of the three kernels on one instance, as bytes (bit-for-bit comparison). */
function outputs(be: Backend, U: Matrix, V: Matrix, exclude: PairExclusion, shift: number, tau: number): Buffer[] {
  const n = U.rows;
  const spec = { tau, positiveShift: shift, exclude };
  const l = be.kernels.pairLse(U, V, spec, { row: true, col: true });
  const rng = Rng.fromSeed(`coef-${n}`);
  const coef = (s: number) => Float64Array.from({ length: n }, () => s * (0.5 + rng.uniform()));
  const g = be.kernels.pairSoftmaxGrad(U, V, spec, { lseRow: l.lseRow, lseCol: l.lseCol, rowCoef: coef(1 / n), colCoef: coef(1 / n), posCoef: coef(-2 / n) });
  const C = zeros(n, n, dtypeOf(U));
  const Vt: Matrix = { ...V, rows: V.cols, cols: V.rows, rowStride: V.colStride, colStride: V.rowStride };
  be.kernels.gemm(0.5, U, Vt, 0, C);
  const bytes = (a: ArrayLike<number> & ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  return [l.lseRow!, l.lseCol!, l.positive, g.gradU.data, g.gradV.data, C.data].map(bytes);
}

const sameBits = (a: Buffer[], b: Buffer[]) => a.length === b.length && a.every((x, i) => x.equals(b[i]!));

describe('cpu backend threads: the same bits for any thread count', { timeout: 300_000 }, () => {
  // Bounds: n up to 220 with tiles of 16 or 32 gives 2–14 row blocks, so 2 and 3 threads really
  // split the work (minParallelWork 0); d up to 24 covers the padding of d to the micro-tile.
  const arb = fc.record({
    n: fc.integer({ min: 17, max: 220 }),
    d: fc.integer({ min: 1, max: 24 }),
    blockSize: fc.constantFrom(16, 32),
    dtype: fc.constantFrom<DType>('f64', 'f32'),
    exclude: fc.constantFrom<PairExclusion>('none', 'positive', 'self-and-positive'),
    shift: fc.integer({ min: 0, max: 5 }),
    tau: fc.constantFrom(1, 0.1, 0.02),
    seed: fc.integer({ min: 0, max: 1e6 }),
  });
  const backends = new Map<string, Backend>();
  const get = (dtype: DType, blockSize: number, threads: number) => {
    const key = `${dtype}-${blockSize}-${threads}`;
    if (!backends.has(key)) backends.set(key, createCpuBackend({ dtype, blockSize, threads, minParallelWork: 0 }));
    return backends.get(key)!;
  };

  test.prop([arb], { numRuns: 60 })('pairLse, pairSoftmaxGrad and gemm: 1, 2 and 3 threads agree bit for bit', (c) => {
    const rng = Rng.fromSeed(c.seed);
    const U = gauss(rng, c.n, c.d, c.dtype, 0.4);
    const V = gauss(rng, c.n, c.d, c.dtype, 0.4);
    const one = outputs(get(c.dtype, c.blockSize, 1), U, V, c.exclude, c.shift, c.tau);
    for (const k of [2, 3]) expect(sameBits(outputs(get(c.dtype, c.blockSize, k), U, V, c.exclude, c.shift, c.tau), one)).toBe(true);
  });

  it('a large case (n = 1100, d = 64, default tile) through the default crossover: 1, 2, 3 threads agree', () => {
    const rng = Rng.fromSeed('threads-large');
    for (const dtype of ['f64', 'f32'] as const) {
      const U = gauss(rng, 1100, 64, dtype, 0.3);
      const V = gauss(rng, 1100, 64, dtype, 0.3);
      const runs = [1, 2, 3].map((threads) => {
        const be = createCpuBackend({ dtype, threads });
        try {
          return outputs(be, U, V, 'self-and-positive', 3, 0.05);
        } finally {
          be.dispose();
        }
      });
      expect(sameBits(runs[1]!, runs[0]!)).toBe(true);
      expect(sameBits(runs[2]!, runs[0]!)).toBe(true);
    }
  });

  it('mutant: merging columns in arrival order (no wavefront) is caught', () => {
    // The broken variant races on the shared column sums; over a few tries it must differ.
    const rng = Rng.fromSeed('threads-mutant');
    const U = gauss(rng, 640, 16, 'f64', 0.4);
    const V = gauss(rng, 640, 16, 'f64', 0.4);
    const good = outputs(createCpuBackend({ threads: 1, blockSize: 16 }), U, V, 'none', 0, 0.1);
    const bad = createCpuBackend({ threads: 2, blockSize: 16, minParallelWork: 0, mergeOrder: 'arrival' });
    let caught = false;
    for (let t = 0; t < 20 && !caught; t++) caught = !sameBits(outputs(bad, U, V, 'none', 0, 0.1), good);
    bad.dispose();
    expect(caught).toBe(true);
  });

  it('reports its thread count; refuses bad options with typed errors naming the value', () => {
    const be = createCpuBackend({ threads: 3 });
    expect(be.info.threads).toBe(3);
    be.dispose();
    expect(() => createCpuBackend({ threads: 0 })).toThrow(DomainError);
    expect(() => createCpuBackend({ threads: 1.5 })).toThrow(/threads must be an integer in \[1, 256\], got 1.5/);
    expect(() => createCpuBackend({ fma: 'yes' as never })).toThrow(ConfigError);
    expect(() => createCpuBackend({ minParallelWork: -1 })).toThrow(/minParallelWork/);
    const saved = process.env.CONTRASTLAB_THREADS;
    try {
      process.env.CONTRASTLAB_THREADS = 'two';
      expect(() => createCpuBackend()).toThrow(/CONTRASTLAB_THREADS must be an integer in \[1, 256\], got 'two'/);
      process.env.CONTRASTLAB_THREADS = '2';
      expect(createCpuBackend().info.threads).toBe(2);
    } finally {
      if (saved === undefined) delete process.env.CONTRASTLAB_THREADS;
      else process.env.CONTRASTLAB_THREADS = saved;
    }
  });

  it('a disposed backend (whose workers had started) refuses calls', () => {
    const be = createCpuBackend({ threads: 2, minParallelWork: 0 });
    const U = gauss(Rng.fromSeed(1), 300, 8, 'f64', 0.3);
    be.kernels.pairLse(U, U, { tau: 0.5, positiveShift: 0, exclude: 'none' }, { row: true, col: true });
    be.dispose();
    expect(() => be.kernels.pairLse(U, U, { tau: 0.5, positiveShift: 0, exclude: 'none' }, { row: true, col: true })).toThrow(/disposed/);
  });
});

// The threaded kernels against the float64 oracle by the written rules (src/backend/tolerance.ts).
runBackendContract('cpu threads=3 blockSize=8', (dtype) => createCpuBackend({ dtype, blockSize: 8, threads: 3, minParallelWork: 0 }));

// The relaxed-SIMD build: Node 20 has relaxed SIMD behind a V8 flag, which can be set at run time
// before the module is compiled; newer engines have it by default.
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
describe('cpu backend: the relaxed-SIMD (FMA) build', () => {
  it('is available on this engine once the flag is set, and reported in info', () => {
    expect(relaxedSimdAvailable()).toBe(true);
    expect(createCpuBackend({ fma: true }).info.fma).toBe(true);
    expect(createCpuBackend({ fma: false }).info.fma).toBe(false);
  });
  it('FMA changes rounding (gemm differs from the plain build in some bit) but not across threads', () => {
    const rng = Rng.fromSeed('fma');
    const U = gauss(rng, 300, 40, 'f64', 1);
    const V = gauss(rng, 300, 40, 'f64', 1);
    const plain = outputs(createCpuBackend({ fma: false, threads: 1, blockSize: 32 }), U, V, 'none', 0, 0.5);
    const f1 = outputs(createCpuBackend({ fma: true, threads: 1, blockSize: 32 }), U, V, 'none', 0, 0.5);
    const f3 = outputs(createCpuBackend({ fma: true, threads: 3, blockSize: 32, minParallelWork: 0 }), U, V, 'none', 0, 0.5);
    expect(sameBits(f3, f1)).toBe(true);
    expect(f1[5]!.equals(plain[5]!)).toBe(false); // the x86-64 machines this runs on have FMA3
  });
});
runBackendContract('cpu fma threads=2 blockSize=16', (dtype) => createCpuBackend({ dtype, blockSize: 16, threads: 2, minParallelWork: 0, fma: true }));
