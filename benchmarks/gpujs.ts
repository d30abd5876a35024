/**
 * The same kernels on the CPU backend (WebAssembly SIMD, one core) and the gpujs backend (gpu.js),
 * same sizes, one table.
 *
 *   node --import tsx benchmarks/gpujs.ts [--sizes 1024,4096] [--d 128] [--reps 3]
 *        [--backends cpu-f64,cpu-f32,gpujs] [--json FILE] [--readme [--section NAME]]
 *        [--kernels infonce,gemm] [--max-n-software 2048]   (gpujs sizes above this are skipped on a software OpenGL driver)
 *   node --import tsx benchmarks/gpujs.ts --render FILE.json --readme --section NAME
 *
 * Kernels: 'infonce' = the fused two-sided InfoNCE value and both gradients (pairLse with rows and
 * columns, then pairSoftmaxGrad; THEORY 2.1), counted as 6·N²·d flops like benchmarks/run.ts;
 * 'gemm' = C = A·Bᵀ with A, B N x d (2·N²·d flops).
 * Columns: first = the first call on a fresh backend (shader compilation and the first upload
 * included); steady = median of --reps further calls, each on changed inputs (one entry of U is
 * perturbed, so the gpujs backend uploads again, as in a training step); GFLOP/s from steady;
 * transfer = host↔device time inside one steady call (gpujs: uploads of U, V and the coefficients
 * plus gradient readbacks, from the backend's counters); ratio = the cpu-f64 steady time over this
 * row's (the named baseline, same run). Each backend runs in its own child process so its peak RSS
 * (maxRSS) is its own. Nothing here gates a test.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createCpuBackend } from '../src/backend/cpu/index.ts';
import { createGpujsBackend, type GpujsBackend } from '../src/backend/gpujs/index.ts';
import type { Backend, PairSpec } from '../src/backend/types.ts';
import { type Matrix, transpose, zeros } from '../src/core/matrix.ts';
import { Rng } from '../src/core/random.ts';
import { randomMatrix } from '../src/backend/instances.ts';
import { writeReadmeSection } from './readme.ts';

const TAU = 0.1;

interface Row {
  backend: string;
  kernel: 'infonce' | 'gemm';
  n: number;
  d: number;
  firstMs: number;
  steadyMs: number;
  reps: number;
  transferMs: number | null;
  gflops: number;
  check: number;
}
interface ChildOut { rows: Row[]; maxRssMiB: number; info: Record<string, unknown> }

/** InfoNCE value and gradients through the kernel table (coefficients of THEORY 2.1). */
function infonce(be: Backend, U: Matrix, V: Matrix): number {
  const N = U.rows;
  const spec: PairSpec = { tau: TAU, positiveShift: 0, exclude: 'none' };
  const l = be.kernels.pairLse(U, V, spec, { row: true, col: true });
  const c = new Float64Array(N).fill(1 / (2 * N));
  const p = new Float64Array(N).fill(-1 / N);
  const g = be.kernels.pairSoftmaxGrad(U, V, spec, { lseRow: l.lseRow, lseCol: l.lseCol, rowCoef: c, colCoef: c, posCoef: p });
  let loss = 0;
  for (let i = 0; i < N; i++) loss += l.lseRow![i]! + l.lseCol![i]! - 2 * l.positive[i]!;
  return loss / (2 * N) + 1e-30 * g.gradU.data[0]!;
}

function makeBackend(name: string): Backend {
  if (name === 'cpu-f64') return createCpuBackend({ dtype: 'f64' });
  if (name === 'cpu-f32') return createCpuBackend({ dtype: 'f32' });
  if (name.startsWith('gpujs')) return createGpujsBackend({ mode: (name.split(':')[1] ?? 'headlessgl') as 'headlessgl' });
  throw new Error(`unknown backend ${name}`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Child: one backend, every size and kernel. */
function child(name: string, sizes: number[], d: number, reps: number, maxSoftN: number, kernelsToRun: ('infonce' | 'gemm')[]): ChildOut {
  const rows: Row[] = [];
  let info: Record<string, unknown> = {};
  for (const kernel of kernelsToRun) {
    for (const n of sizes) {
      // A fresh backend per (kernel, size): 'first' includes compilation.
      const t0 = performance.now();
      const be = makeBackend(name);
      const setupMs = performance.now() - t0;
      info = { ...be.info };
      if (n > maxSoftN && /swrast|llvmpipe/.test(String(be.info.glDriver ?? ''))) {
        // Mesa's software rasteriser: hours at large N; say so instead.
        process.stderr.write(`  ${name} ${kernel} n=${n}: skipped (software OpenGL, --max-n-software ${maxSoftN})\n`);
        be.dispose();
        continue;
      }
      const rng = Rng.fromSeed(n + d);
      const U = randomMatrix(rng, n, d, be.dtype, 'unit');
      const V = randomMatrix(rng, n, d, be.dtype, 'unit');
      const C = zeros(n, n, be.dtype);
      const call = () => (kernel === 'infonce' ? infonce(be, U, V) : (be.kernels.gemm(1, U, transpose(V), 0, C), C.data[n + 1]!));
      const t1 = performance.now();
      const check = call();
      const firstMs = setupMs + performance.now() - t1;
      const times: number[] = [];
      const transfers: number[] = [];
      for (let r = 0; r < reps; r++) {
        U.data[r % U.data.length] = U.data[r % U.data.length]! * (1 + 1e-6); // changed inputs: a fresh upload
        const s0 = (be as GpujsBackend).stats?.();
        const a = performance.now();
        call();
        times.push(performance.now() - a);
        const s1 = (be as GpujsBackend).stats?.();
        if (s0 && s1) transfers.push(s1.uploadMs - s0.uploadMs + (s1.readbackMs - s0.readbackMs));
      }
      const steadyMs = median(times);
      const flops = (kernel === 'infonce' ? 6 : 2) * n * n * d;
      rows.push({ backend: name, kernel, n, d, firstMs, steadyMs, reps, transferMs: transfers.length ? median(transfers) : null, gflops: flops / steadyMs / 1e6, check });
      be.dispose();
      process.stderr.write(`  ${name} ${kernel} n=${n}: first ${firstMs.toFixed(0)} ms, steady ${steadyMs.toFixed(1)} ms\n`);
    }
  }
  return { rows, maxRssMiB: process.resourceUsage().maxRSS / 1024, info };
}

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

interface Report {
  date: string;
  machine: { cpu: string; cores: number; load: string; node: string; gpu: string | null };
  d: number;
  reps: number;
  backends: { name: string; maxRssMiB: number; info: Record<string, unknown> }[];
  rows: Row[];
}

function gpuName(): string | null {
  try {
    return execFileSync('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function render(r: Report, section: string): string {
  const base = new Map(r.rows.filter((x) => x.backend === 'cpu-f64').map((x) => [`${x.kernel}:${x.n}`, x.steadyMs]));
  const lines = [
    `Machine: ${r.machine.cpu} (${r.machine.cores} cores, load ${r.machine.load}), Node ${r.machine.node}${r.machine.gpu ? `, GPU ${r.machine.gpu}` : ', no GPU'}; ${r.date}.`,
    `Command: \`node --import tsx benchmarks/gpujs.ts --sizes ${[...new Set(r.rows.map((x) => x.n))].join(',')} --d ${r.d} --reps ${r.reps}${[...new Set(r.rows.map((x) => x.kernel))].length === 1 ? ` --kernels ${r.rows[0]!.kernel}` : ''} --backends ${r.backends.map((b) => b.name).join(',')}\`${section !== 'gpujs' ? ' (on the device; rendered here from its JSON)' : ''}.`,
    '',
    ...r.backends.map((b) => `- **${b.name}**: peak RSS ${b.maxRssMiB.toFixed(0)} MiB; ${Object.entries(b.info).filter(([k]) => ['impl', 'simd', 'mode', 'precision', 'glDriver', 'glVersion', 'tile', 'lseTile'].includes(k)).map(([k, v]) => `${k} ${String(v)}`).join(', ')}`),
    '',
    '| kernel | N | d | backend | first call (ms, incl. compile) | steady (ms, median) | GFLOP/s | transfer (ms) | cpu-f64 time / this |',
    '|---|---:|---:|---|---:|---:|---:|---:|---:|',
    ...r.rows.map((x) => {
      const b = base.get(`${x.kernel}:${x.n}`);
      return `| ${x.kernel} | ${x.n} | ${x.d} | ${x.backend} | ${x.firstMs.toFixed(0)} | ${x.steadyMs.toFixed(1)} | ${x.gflops.toFixed(2)} | ${x.transferMs === null ? '—' : x.transferMs.toFixed(1)} | ${b ? `${(b / x.steadyMs).toFixed(2)}×` : '—'} |`;
    }),
  ];
  return lines.join('\n');
}

function main(): void {
  const argv = process.argv.slice(2);
  const sizes = (arg(argv, 'sizes') ?? '1024,4096').split(',').map(Number);
  const d = Number(arg(argv, 'd') ?? 128);
  const reps = Number(arg(argv, 'reps') ?? 3);
  if (argv.includes('--child')) {
    console.log(JSON.stringify(child(arg(argv, 'child')!, sizes, d, reps, Number(arg(argv, 'max-n-software') ?? 2048), (arg(argv, 'kernels') ?? 'infonce,gemm').split(',') as ('infonce' | 'gemm')[])));
    return;
  }
  const section = arg(argv, 'section') ?? 'gpujs';
  let report: Report;
  const from = arg(argv, 'render');
  if (from) {
    report = JSON.parse(readFileSync(from, 'utf8')) as Report;
  } else {
    const backends = (arg(argv, 'backends') ?? 'cpu-f64,cpu-f32,gpujs').split(',');
    const outs = backends.map((b) => {
      process.stderr.write(`${b}\n`);
      const text = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', b, '--sizes', sizes.join(','), '--d', String(d), '--reps', String(reps), '--max-n-software', arg(argv, 'max-n-software') ?? '2048', '--kernels', arg(argv, 'kernels') ?? 'infonce,gemm'], {
        encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26,
      });
      return { name: b, out: JSON.parse(text.trim().split('\n').pop()!) as ChildOut };
    });
    report = {
      date: new Date().toISOString().slice(0, 10),
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, load: loadavg().map((x) => x.toFixed(2)).join(' '), node: process.version, gpu: gpuName() },
      d, reps,
      backends: outs.map((o) => ({ name: o.name, maxRssMiB: o.out.maxRssMiB, info: o.out.info })),
      rows: outs.flatMap((o) => o.out.rows).sort((a, b) => a.kernel.localeCompare(b.kernel) || a.n - b.n),
    };
    const json = arg(argv, 'json');
    if (json) writeFileSync(json, JSON.stringify(report, null, 2));
  }
  const md = render(report, section);
  console.log(md);
  if (argv.includes('--readme')) writeReadmeSection(section, md, section === 'gpujs' ? 'gpujs backend against the CPU backend, this machine (`benchmarks/gpujs.ts`)' : `gpujs backend: ${section} (\`benchmarks/gpujs.ts\`)`);
}

main();
