/**
 * Kernel benchmarks of the CPU (WebAssembly SIMD) backend, with ml-matrix as the named baseline.
 *
 *   npm run bench                         full suite (~10 min), writes benchmarks/README.md
 *   npm run bench -- --quick              N ≤ 4096, shorter sampling, stdout only
 *   npm run bench -- --only gemm          only the GEMM cases (also: infonce, blocksize; comma list)
 *   npm run bench -- --quick --readme     also write benchmarks/README.md from a partial run
 *
 * Every case runs in its own child process (so `process.resourceUsage().maxRSS` is that case's
 * peak alone) and is timed with benchmark.js; the table reports the median time per call.
 * Flop counts: GEMM 2·m·n·k; fused InfoNCE (loss and both gradients) 6·N²·d — the three
 * N x N x d products of the materialised maths (S = U Vᵀ, G V, Gᵀ U); the blocked kernels
 * actually do 8·N²·d (S is recomputed in the gradient pass), which the count ignores.
 * A benchmark measures and reports; it never gates anything.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Benchmark from 'benchmark';
import { Matrix as MlMatrix } from 'ml-matrix';
import { createCpuBackend, DEFAULT_BLOCK_SIZE } from '../src/backend/cpu/index.ts';
import type { Backend, PairSpec } from '../src/backend/types.ts';
import { type DType, type Matrix, transpose, zeros } from '../src/core/matrix.ts';
import { Rng } from '../src/core/random.ts';
import { writeReadmeSection } from './readme.ts';
import { median } from './stats.ts';

const here = dirname(fileURLToPath(import.meta.url));

type Kind = 'gemm' | 'infonce' | 'blocksize';
type Shape = 'ABt' | 'AB' | 'AtB';
type Impl = 'wasm' | 'ml-matrix';

interface Case {
  kind: Kind;
  impl: Impl;
  dtype: DType;
  N: number;
  d: number;
  shape?: Shape;
  blockSize?: number;
  quick?: boolean;
}

interface Result {
  medianS: number;
  samples: number;
  rme: number;
  maxRssMiB: number;
  check?: number;
}

// ------------------------------------------------------------------ the measured functions

function unitRows(rng: Rng, n: number, d: number, dtype: DType): Matrix {
  const m = zeros(n, d, dtype);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) {
      row[k] = rng.normal();
      s += row[k]! * row[k]!;
    }
    for (let k = 0; k < d; k++) m.data[i * d + k] = row[k]! / Math.sqrt(s);
  }
  return m;
}

function toMl(m: Matrix): MlMatrix {
  const out = new MlMatrix(m.rows, m.cols);
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) out.set(i, j, m.data[m.offset + i * m.rowStride + j * m.colStride]!);
  return out;
}

const TAU = 0.1;

/** InfoNCE value and gradients through the fused kernels (coefficients of THEORY.md 2.1). */
function infonceWasm(be: Backend, U: Matrix, V: Matrix): { loss: number; gradU: Matrix; gradV: Matrix } {
  const N = U.rows;
  const spec: PairSpec = { tau: TAU, positiveShift: 0, exclude: 'none' };
  const l = be.kernels.pairLse(U, V, spec, { row: true, col: true });
  const c = new Float64Array(N).fill(1 / (2 * N));
  const p = new Float64Array(N).fill(-1 / N);
  const g = be.kernels.pairSoftmaxGrad(U, V, spec, { lseRow: l.lseRow, lseCol: l.lseCol, rowCoef: c, colCoef: c, posCoef: p });
  let loss = 0;
  for (let i = 0; i < N; i++) loss += l.lseRow![i]! + l.lseCol![i]! - 2 * l.positive[i]!;
  return { loss: loss / (2 * N), gradU: g.gradU, gradV: g.gradV };
}

/** The same maths, straightforwardly with ml-matrix: S = U·Vᵀ/τ via mmul, max-shifted softmaxes, P + Q − 2I, gradients via mmul. */
function infonceMl(U: MlMatrix, V: MlMatrix): { loss: number; gradU: MlMatrix; gradV: MlMatrix } {
  const N = U.rows;
  const S = U.mmul(V.transpose()).div(TAU);
  const lseRow = new Float64Array(N);
  const lseCol = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    let m = -Infinity;
    for (let j = 0; j < N; j++) m = Math.max(m, S.get(i, j));
    let s = 0;
    for (let j = 0; j < N; j++) s += Math.exp(S.get(i, j) - m);
    lseRow[i] = m + Math.log(s);
  }
  for (let j = 0; j < N; j++) {
    let m = -Infinity;
    for (let i = 0; i < N; i++) m = Math.max(m, S.get(i, j));
    let s = 0;
    for (let i = 0; i < N; i++) s += Math.exp(S.get(i, j) - m);
    lseCol[j] = m + Math.log(s);
  }
  let loss = 0;
  for (let i = 0; i < N; i++) loss += lseRow[i]! + lseCol[i]! - 2 * S.get(i, i);
  const G = new MlMatrix(N, N);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      const s = S.get(i, j);
      G.set(i, j, (Math.exp(s - lseRow[i]!) + Math.exp(s - lseCol[j]!) - (i === j ? 2 : 0)) / (2 * N));
    }
  }
  return { loss: loss / (2 * N), gradU: G.mmul(V).div(TAU), gradV: G.transposeMultiply(U).div(TAU) };
}

function flops(c: Case): number {
  return c.kind === 'gemm' ? 2 * c.N * c.N * c.d : 6 * c.N * c.N * c.d;
}

/** Builds the inputs and returns the function to time, plus a scalar for a cross-check. */
function prepare(c: Case): { fn: () => void; check: () => number } {
  const rng = Rng.fromSeed(`bench-${c.kind}-${c.N}-${c.d}`);
  // Baselines always compute in float64 (ml-matrix has no float32).
  const dt: DType = c.impl === 'wasm' ? c.dtype : 'f64';
  if (c.kind === 'gemm') {
    const small1 = unitRows(rng, c.N, c.d, dt);
    const small2 = unitRows(rng, c.N, c.d, dt);
    const big = c.shape === 'ABt' ? null : unitRows(rng, c.N, c.N, dt);
    if (c.impl === 'wasm') {
      const be = createCpuBackend({ dtype: c.dtype, threads: 1 });
      const [A, B, C] = c.shape === 'ABt'
        ? [small1, transpose(small2), zeros(c.N, c.N, dt)]
        : c.shape === 'AB' ? [big!, small1, zeros(c.N, c.d, dt)] : [transpose(big!), small1, zeros(c.N, c.d, dt)];
      return { fn: () => be.kernels.gemm(1, A, B, 0, C), check: () => C.data[C.data.length - 1]! };
    }
    const s1 = toMl(small1);
    const s2 = toMl(small2);
    const b = big ? toMl(big) : null;
    let out: MlMatrix | null = null;
    const fn = c.shape === 'ABt' ? () => { out = s1.mmul(s2.transpose()); } : c.shape === 'AB' ? () => { out = b!.mmul(s1); } : () => { out = b!.transposeMultiply(s1); };
    return { fn, check: () => out!.get(out!.rows - 1, out!.columns - 1) };
  }
  const U = unitRows(rng, c.N, c.d, dt);
  const V = unitRows(rng, c.N, c.d, dt);
  if (c.impl === 'wasm') {
    const be = createCpuBackend({ dtype: c.dtype, blockSize: c.blockSize ?? DEFAULT_BLOCK_SIZE, threads: 1 });
    let loss = NaN;
    return { fn: () => { loss = infonceWasm(be, U, V).loss; }, check: () => loss };
  }
  const Um = toMl(U);
  const Vm = toMl(V);
  let loss = NaN;
  return { fn: () => { loss = infonceMl(Um, Vm).loss; }, check: () => loss };
}

function runChild(c: Case): Result {
  const { fn, check } = prepare(c);
  // One untimed call: JIT / wasm tier-up warm-up and an estimate for the sampling plan.
  const t0 = performance.now();
  fn();
  const est = (performance.now() - t0) / 1000;
  const opts = est > 1.5 ? { minSamples: 2, maxTime: 0 } : c.quick ? { minSamples: 3, maxTime: 1 } : { minSamples: 5, maxTime: 2.5 };
  const bench = new Benchmark(`${c.kind}`, fn, { ...opts, initCount: 1 });
  bench.run();
  if (bench.error) throw bench.error;
  const sample = bench.stats.sample;
  const medianS = median(sample);
  return { medianS, samples: sample.length, rme: bench.stats.rme, maxRssMiB: process.resourceUsage().maxRSS / 1024, check: check() };
}

// ------------------------------------------------------------------ the parent: cases, children, table

function parseArgs(argv: string[]) {
  const get = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const only = get('--only')?.split(',') as Kind[] | undefined;
  for (const k of only ?? []) if (!['gemm', 'infonce', 'blocksize'].includes(k)) throw new Error(`--only takes gemm, infonce, blocksize (comma separated), got ${k}`);
  return {
    child: get('--child'),
    quick: argv.includes('--quick'),
    only,
    readme: argv.includes('--readme') || (!argv.includes('--quick') && !only && !argv.includes('--no-readme')),
  };
}

/** Why a baseline is not measured for this case, or null. */
function baselineSkip(c: Case, quick: boolean): string | null {
  if (c.N >= 16384) return 'not run (N = 16384: S and G as ml-matrix arrays ≈ 4 GiB, ~4 min per call)';
  if (quick && c.N >= 4096) return 'skipped (--quick)';
  if (c.kind === 'gemm' && c.N >= 4096) return 'skipped (~10 s per call, same ~1 GFLOP/s as N = 1024)';
  return null;
}

function cases(args: ReturnType<typeof parseArgs>): { main: Case[]; sweep: Case[] } {
  const want = (k: Kind) => !args.only || args.only.includes(k);
  const Ns = args.quick ? [1024, 4096] : [1024, 4096, 16384];
  const main: Case[] = [];
  for (const kind of ['gemm', 'infonce'] as const) {
    if (!want(kind)) continue;
    for (const N of Ns) {
      // GEMM at N = 16384 would need an N x N f64 operand or result (2 GiB): not run.
      if (kind === 'gemm' && N >= 16384) continue;
      for (const d of [64, 128]) {
        for (const shape of kind === 'gemm' ? (['ABt', 'AB', 'AtB'] as const) : [undefined]) {
          for (const dtype of ['f64', 'f32'] as const) main.push({ kind, impl: 'wasm', dtype, N, d, shape, quick: args.quick });
        }
      }
    }
  }
  const sweep: Case[] = [];
  if (want('blocksize')) {
    for (const blockSize of [32, 64, 128, 256]) sweep.push({ kind: 'blocksize', impl: 'wasm', dtype: 'f64', N: args.quick ? 2048 : 4096, d: 128, blockSize, quick: args.quick });
  }
  return { main, sweep };
}

function spawnCase(c: Case): Result {
  const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', JSON.stringify(c)], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
    cwd: join(here, '..'),
  });
  const line = child.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (child.status !== 0 || !line) throw new Error(`case ${JSON.stringify(c)} failed (status ${child.status}):\n${child.stderr}`);
  return JSON.parse(line.slice(7)) as Result;
}

function machine(): { cpu: string; load: string; node: string; cores: number } {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1]!.trim();
  } catch {
    // not Linux
  }
  let load = loadavg().map((x) => x.toFixed(2)).join(', ');
  try {
    load = spawnSync('uptime', { encoding: 'utf8' }).stdout.trim() || load;
  } catch {
    // no uptime(1)
  }
  return { cpu, load, node: process.version, cores: cpus().length };
}

function targetRow(c: Case, r: Result, b: Result | string | undefined): string {
  const g = gf(c, r);
  const ratio = b && typeof b !== 'string' ? b.medianS / r.medianS : null;
  return `Target (fused InfoNCE, f64, N = 4096, d = 128: ≥ 3 GFLOP/s and ≥ 5x ml-matrix): ${g.toFixed(2)} GFLOP/s`
    + (ratio === null ? ' (ml-matrix not measured in this run).' : `, ${ratio.toFixed(1)}x ml-matrix.`);
}

const fmtTime = (s: number) => (s >= 1 ? `${s.toFixed(2)} s` : `${(s * 1000).toFixed(s < 0.01 ? 2 : 1)} ms`);
const gf = (c: Case, r: Result) => flops(c) / r.medianS / 1e9;


async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.child) {
    const r = runChild(JSON.parse(args.child) as Case);
    process.stdout.write(`RESULT ${JSON.stringify(r)}\n`);
    return;
  }
  const m0 = machine();
  const load1 = loadavg()[0]!;
  process.stderr.write(`machine: ${m0.cpu}, ${m0.cores} cores, node ${m0.node}\nuptime: ${m0.load}\n`);
  if (load1 > 0.5) process.stderr.write(`warning: load average ${load1.toFixed(2)} — other processes share the cores; timings will be noisy\n`);
  const { main: list, sweep } = cases(args);
  const t0 = Date.now();
  const baselines = new Map<string, Result | string>();
  const rows: string[] = [];
  const log = (s: string) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);
  const results: Result[] = [];
  for (const c of list) {
    const r = spawnCase(c);
    results.push(r);
    log(`${c.kind} ${c.shape ?? ''} ${c.dtype} N=${c.N} d=${c.d}: ${fmtTime(r.medianS)}, ${gf(c, r).toFixed(2)} GFLOP/s, ${r.maxRssMiB.toFixed(0)} MiB`);
    const key = `${c.kind}-${c.shape ?? ''}-${c.N}-${c.d}`;
    if (!baselines.has(key)) {
      const skip = baselineSkip(c, args.quick);
      if (skip) baselines.set(key, skip);
      else {
        const b = spawnCase({ ...c, impl: 'ml-matrix', dtype: 'f64' });
        log(`  ml-matrix: ${fmtTime(b.medianS)}, ${gf(c, b).toFixed(2)} GFLOP/s, ${b.maxRssMiB.toFixed(0)} MiB, check ${b.check} vs ${r.check}`);
        baselines.set(key, b);
      }
    }
    const b = baselines.get(key)!;
    const what = c.kind === 'gemm' ? `GEMM ${c.shape === 'ABt' ? 'A·Bᵀ' : c.shape === 'AB' ? 'A·B' : 'Aᵀ·B'}` : 'InfoNCE fused';
    const base = typeof b === 'string' ? [b, '—', '—'] : [`${gf(c, b).toFixed(2)} (${fmtTime(b.medianS)})`, `**${(b.medianS / r.medianS).toFixed(1)}x**`, `${b.maxRssMiB.toFixed(0)}`];
    rows.push(`| ${what} | ${c.dtype} | ${c.N} | ${c.d} | ${fmtTime(r.medianS)} (${r.samples}, ±${r.rme.toFixed(1)}%) | **${gf(c, r).toFixed(2)}** | ${base[0]} | ${base[1]} | ${r.maxRssMiB.toFixed(0)} | ${base[2]} |`);
  }
  // The performance target of the fused kernels (f64, N = 4096, d = 128): ≥ 3 GFLOP/s and ≥ 5x ml-matrix.
  const targetIdx = list.findIndex((c) => c.kind === 'infonce' && c.dtype === 'f64' && c.N === 4096 && c.d === 128);
  const target = targetIdx >= 0 ? targetRow(list[targetIdx]!, results[targetIdx]!, baselines.get('infonce--4096-128')) : null;
  const sweepRows: string[] = [];
  for (const c of sweep) {
    const r = spawnCase(c);
    log(`blockSize ${c.blockSize}: ${fmtTime(r.medianS)}, ${gf(c, r).toFixed(2)} GFLOP/s`);
    sweepRows.push(`| ${c.blockSize}${c.blockSize === DEFAULT_BLOCK_SIZE ? ' (default)' : ''} | ${c.N} | ${c.d} | ${fmtTime(r.medianS)} | ${gf(c, r).toFixed(2)} | ${r.maxRssMiB.toFixed(0)} |`);
  }
  const m1 = machine();
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const out: string[] = [
    '## Kernels: CPU backend, WebAssembly SIMD, one thread (`benchmarks/run.ts`)',
    '',
    `Command: \`${command}\` (${((Date.now() - t0) / 1000 / 60).toFixed(1)} min). Date: ${new Date().toISOString()}.`,
    `Machine: ${m1.cpu}, ${m1.cores} cores, Node ${m1.node}.`,
    `Load before: \`${m0.load}\`; after: \`${m1.load}\`.`,
    '',
    'Each case runs in its own child process and is timed by benchmark.js after one warm-up call; times are medians',
    '(samples, ±relative margin of error). GFLOP/s count GEMM as 2·m·n·k and the fused InfoNCE (value and both',
    'gradients: `pairLse` + `pairSoftmaxGrad` with rowCoef = colCoef = 1/(2N), posCoef = −1/N, τ = 0.1, unit rows) as 6·N²·d;',
    'the blocked kernels really do 8·N²·d (the gradient pass recomputes S). The baseline is ml-matrix',
    '(`mmul`, `transposeMultiply`, and for InfoNCE the materialised maths: S = U·Vᵀ/τ, max-shifted row and column',
    'softmaxes, (P + Q − 2I)/(2N), gradients by `mmul`), always in float64, run in the same invocation; the ratio is',
    'baseline time / wasm time (for f32 rows: against that float64 baseline). Peak RSS is `process.resourceUsage().maxRSS`',
    'of the case\'s own process (MiB, including Node itself, ~50 MiB).',
    '',
    'GEMM shapes: A·Bᵀ is (N×d)·(d×N) → N×N (B passed as a transposed view); A·B is (N×N)·(N×d); Aᵀ·B is',
    '(N×N)ᵀ·(N×d) with A passed as a transposed view. GEMM at N = 16384 is not run (an N×N float64 operand is 2 GiB).',
    '',
    '| kernel | dtype | N | d | wasm time (samples, ±) | wasm GFLOP/s | ml-matrix GFLOP/s (time) | speed-up | wasm peak RSS MiB | ml-matrix peak RSS MiB |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ];
  if (target) out.push('', target);
  if (sweepRows.length) {
    out.push('', '### Block size (fused InfoNCE, f64)', '', '| blockSize | N | d | time | GFLOP/s (6·N²·d) | peak RSS MiB |', '|---|---|---|---|---|---|', ...sweepRows);
  }
  const md = out.join('\n') + '\n';
  process.stdout.write(md);
  if (args.readme) {
    writeReadmeSection('kernels', md, 'Kernels: CPU backend, WebAssembly SIMD, one thread (`benchmarks/run.ts`)');
    process.stderr.write(`wrote the kernels section of benchmarks/README.md\n`);
  }
}

await main();
