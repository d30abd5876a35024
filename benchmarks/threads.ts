/**
 * The CPU backend on 1 and 2 threads, plain and FMA builds (benchmarks/README.md, "Threads, FMA and
 * the work per logit"), in one process with the configurations interleaved:
 *
 *   node --experimental-wasm-relaxed-simd --import tsx benchmarks/threads.ts            gemm 4096 x 128 x 4096 f64 and fused InfoNCE N = 4096, d = 128
 *   node --experimental-wasm-relaxed-simd --import tsx benchmarks/threads.ts --crossover the pair kernels and gemm at small n (1 vs 2 threads, f64)
 *
 * Prints a table; never gates anything.
 */
import { loadavg } from 'node:os';
import { createCpuBackend } from '../src/backend/cpu/index.ts';
import { type DType, zeros } from '../src/core/matrix.ts';
import { Rng } from '../src/core/random.ts';

const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;

function inputs(n: number, d: number, dtype: DType, scale: number) {
  const rng = Rng.fromSeed(`threads-${n}-${d}`);
  const U = zeros(n, d, dtype);
  const V = zeros(n, d, dtype);
  for (let i = 0; i < n * d; i++) {
    U.data[i] = scale * rng.normal();
    V.data[i] = scale * rng.normal();
  }
  return { U, V, Vt: { ...V, rows: d, cols: n, rowStride: 1, colStride: d } };
}

function fused(be: ReturnType<typeof createCpuBackend>, U: ReturnType<typeof inputs>['U'], V: ReturnType<typeof inputs>['V']): void {
  const n = U.rows;
  const spec = { tau: 0.1, positiveShift: 0, exclude: 'none' as const };
  const l = be.kernels.pairLse(U, V, spec, { row: true, col: true });
  be.kernels.pairSoftmaxGrad(U, V, spec, { lseRow: l.lseRow, lseCol: l.lseCol, rowCoef: new Float64Array(n).fill(1 / n), colCoef: new Float64Array(n).fill(1 / n), posCoef: new Float64Array(n).fill(-2 / n) });
}

function large(): void {
  const configs = [{ threads: 1, fma: false }, { threads: 2, fma: false }, { threads: 2, fma: true }];
  for (const [what, dtype] of [['gemm', 'f64'], ['fused', 'f64'], ['fused', 'f32']] as const) {
    const n = 4096;
    const d = 128;
    const { U, V, Vt } = inputs(n, d, dtype, 0.1);
    const C = what === 'gemm' ? zeros(n, n, dtype) : null;
    const bes = configs.map((c) => createCpuBackend({ dtype, ...c }));
    const times = bes.map(() => [] as number[]);
    for (let r = 0; r < 5; r++) {
      bes.forEach((be, b) => {
        const t0 = performance.now();
        if (C) be.kernels.gemm(1, U, Vt, 0, C);
        else fused(be, U, V);
        if (r > 0) times[b]!.push(performance.now() - t0);
      });
    }
    const flops = what === 'gemm' ? 2 * n * n * d : 8 * n * n * d;
    bes.forEach((be, b) => {
      const m = med(times[b]!);
      console.log(`| ${what} ${dtype} N = ${n}, d = ${d} | ${be.info.threads} | ${be.info.fma} | ${m.toFixed(1)} ms | ${(flops / m / 1e6).toFixed(1)} GFLOP/s |`);
      be.dispose();
    });
  }
}

function crossover(): void {
  const b1 = createCpuBackend({ threads: 1 });
  const b2 = createCpuBackend({ threads: 2, minParallelWork: 0 });
  for (const [n, d] of [[192, 8], [256, 8], [256, 32], [512, 8]] as const) {
    const { U, V, Vt } = inputs(n, d, 'f64', 0.3);
    const C = zeros(n, n, 'f64');
    const t = [[], []] as number[][];
    const g = [[], []] as number[][];
    for (let r = 0; r < 200; r++) {
      [b1, b2].forEach((be, k) => {
        const t0 = performance.now();
        fused(be, U, V);
        const t1 = performance.now();
        be.kernels.gemm(1, U, Vt, 0, C);
        if (r > 20) {
          t[k]!.push(t1 - t0);
          g[k]!.push(performance.now() - t1);
        }
      });
    }
    console.log(`| ${n} | ${d} | ${((n * n * (d + 16)) / 2 ** 20).toFixed(2)} | ${med(t[0]!).toFixed(3)} ms | ${med(t[1]!).toFixed(3)} ms | ${(med(t[0]!) / med(t[1]!)).toFixed(2)} | ${med(g[0]!).toFixed(3)} / ${med(g[1]!).toFixed(3)} ms |`);
  }
}

console.log(`load average: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);
if (process.argv.includes('--crossover')) crossover();
else large();
