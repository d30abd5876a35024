/**
 * contrastlab against its peers, numpy + OpenBLAS and PyTorch on the CPU, on the same inputs (issue 16).
 *
 *   npm run bench:peers                       all cases, stdout only (long: tens of minutes on 2 cores,
 *                                             most of it N = 16384 and torch's slow f64 autograd)
 *   npm run bench:peers -- --readme           also write the `peers` section of benchmarks/README.md
 *   npm run bench:peers -- --quick            N = 1024 only, 1 rep, SogCLR at N = 10,000 (development)
 *   npm run bench:peers -- --only infonce     only the InfoNCE cases (also: sogclr)
 *   npm run bench:peers -- --ns 1024,4096     the InfoNCE cases at these N only
 *
 * Case 1, the fused two-sided InfoNCE value and both gradients (THEORY 2.1) at N = 1024, 4096, 16384,
 * d = 128, τ = 0.1, f64 and f32, unit rows drawn once per N and written to a raw float64 file that
 * every implementation reads:
 *   contrastlab  `infonceLossAndGrad` (src/objectives/infonce.ts: pairLse + pairSoftmaxGrad, the calls of
 *                benchmarks/run.ts's "InfoNCE fused" case, plus the public op's checks and the float64
 *                gradients) on `createCpuBackend({ dtype, threads })`; its `info` is recorded.
 *   numpy        benchmarks/peers/infonce_numpy.py: the materialised maths, OPENBLAS_NUM_THREADS = threads.
 *   PyTorch      benchmarks/peers/infonce_torch.py: autograd, torch.set_num_threads(threads).
 * Each at threads = 1 and threads = all cores, each in its own process (its peak RSS is its own):
 * one warm-up call, then the median of several calls. The values are compared (float64: within 1e-10).
 *
 * Case 2, SogCLR: benchmarks/sogclr.ts's run (`runSogclrEpochs`, bimodal, free embeddings, N = 100,000,
 * d = 128, B = 256, f32, two epochs) against benchmarks/peers/sogclr_torch.py (the same loop with
 * autograd) from the same initial embeddings.
 *
 * A benchmark measures and reports; it never gates anything.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCpuBackend, type CpuBackendOptions } from '../src/backend/cpu/index.ts';
import { type DType, type Matrix, matrix, zeros } from '../src/core/matrix.ts';
import { Rng } from '../src/core/random.ts';
import { infonceLossAndGrad } from '../src/objectives/infonce.ts';
import { writeReadmeSection } from './readme.ts';
import { median } from './stats.ts';
import { runSogclrEpochs, sogclrData } from './sogclr.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
export const PEERS_DIR = join(here, 'peers');
const TAU = 0.1;
const D = 128;
/** A peer whose estimated peak exceeds this (or 80% of MemAvailable) is not run. */
const MEM_CAP = 10 * 2 ** 30;
/** The python with numpy (PATH's python3) and the one with Debian's python3-torch. */
const NUMPY_PY = process.env['PEERS_NUMPY_PYTHON'] ?? 'python3';
const TORCH_PY = process.env['PEERS_TORCH_PYTHON'] ?? '/usr/bin/python3';

// ------------------------------------------------------------------ inputs

/** N x d matrix of unit rows (standard normal, normalised), float64. */
export function unitRows(rng: Rng, n: number, d: number): Matrix {
  const m = zeros(n, d, 'f64');
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) {
      const x = rng.normal();
      m.data[i * d + k] = x;
      s += x * x;
    }
    const inv = 1 / Math.sqrt(s);
    for (let k = 0; k < d; k++) m.data[i * d + k]! *= inv;
  }
  return m;
}

/** Writes a contiguous matrix as raw little-endian float64 (what benchmarks/peers/common.py reads). */
export function writeF64(path: string, m: Matrix): void {
  const a = m.data instanceof Float64Array ? m.data : Float64Array.from(m.data);
  writeFileSync(path, new Uint8Array(a.buffer, a.byteOffset, m.rows * m.cols * 8));
}

export function readF64(path: string, rows: number, cols: number): Matrix {
  const b = readFileSync(path);
  const a = new Float64Array(rows * cols);
  new Uint8Array(a.buffer).set(b.subarray(0, rows * cols * 8));
  return matrix(a, rows, cols);
}

// ------------------------------------------------------------------ the contrastlab child

interface InfonceChild { kind: 'infonce'; N: number; d: number; dtype: DType; threads: number; fma: boolean; reps: number; u: string; v: string }
interface SogclrChild { kind: 'sogclr'; N: number; threads: number; fma: boolean; epochs: number }

interface Timed {
  value: number;
  times: number[];
  maxRssMiB: number;
  info?: unknown;
  [k: string]: unknown;
}


/** createCpuBackend options of a run: its thread count and whether the FMA (relaxed-SIMD) build runs. */
function backendOptions(dtype: DType, threads: number, fma: boolean): CpuBackendOptions {
  return { dtype, threads, fma };
}

function runChild(c: InfonceChild | SogclrChild): unknown {
  if (c.kind === 'sogclr') return runSogclrEpochs({ n: c.N, epochs: c.epochs, backend: { threads: c.threads, fma: c.fma } });
  const U = readF64(c.u, c.N, c.d);
  const V = readF64(c.v, c.N, c.d);
  const backend = createCpuBackend(backendOptions(c.dtype, c.threads, c.fma));
  let value = infonceLossAndGrad(U, V, { tau: TAU, backend }).value; // warm-up
  const times: number[] = [];
  for (let r = 0; r < c.reps; r++) {
    const t0 = performance.now();
    value = infonceLossAndGrad(U, V, { tau: TAU, backend }).value;
    times.push((performance.now() - t0) / 1000);
  }
  const info = backend.info;
  backend.dispose();
  return { value, times, maxRssMiB: process.resourceUsage().maxRSS / 1024, info } satisfies Timed;
}

// ------------------------------------------------------------------ the parent

interface Args { quick: boolean; readme: boolean; only: string[] | null; ns: number[] | null; child: string | undefined }

function parseArgs(argv: string[]): Args {
  const get = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const only = get('--only')?.split(',') ?? null;
  for (const k of only ?? []) if (k !== 'infonce' && k !== 'sogclr') throw new Error(`--only takes infonce, sogclr (comma separated), got ${k}`);
  const ns = get('--ns')?.split(',').map(Number) ?? null;
  for (const n of ns ?? []) if (!Number.isInteger(n) || n < 2) throw new Error(`--ns takes sizes N >= 2 (comma separated), got ${n}`);
  return { quick: argv.includes('--quick'), readme: argv.includes('--readme'), only, ns, child: get('--child') };
}

function sh(cmd: string, args: string[], env?: NodeJS.ProcessEnv): { ok: boolean; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 24, cwd: root, env: env ?? process.env });
  return { ok: r.status === 0 && !r.error, out: r.stdout ?? '', err: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

function result(label: string, r: { ok: boolean; out: string; err: string }): Timed {
  const line = r.out.split('\n').find((l) => l.startsWith('RESULT '));
  if (!r.ok || !line) throw new Error(`${label} failed:\n${r.err.slice(-4000)}`);
  return JSON.parse(line.slice(7)) as Timed;
}

function spawnContrastlab(c: InfonceChild | SogclrChild): Timed {
  // Node 20 has relaxed SIMD (the FMA build) behind a V8 flag.
  const flags = c.fma ? ['--experimental-wasm-relaxed-simd'] : [];
  const r = result(`contrastlab ${JSON.stringify(c)}`, sh(process.execPath, [...flags, '--import', 'tsx', fileURLToPath(import.meta.url), '--child', JSON.stringify(c)]));
  if (c.fma && (r.info as { fma?: boolean } | undefined)?.fma !== true) throw new Error(`contrastlab ${JSON.stringify(c)}: the FMA build did not run (info ${JSON.stringify(r.info)})`);
  return r;
}

/** contrastlab's configurations: 1 thread, all cores, all cores with the FMA build. */
function configsOf(cores: number): { threads: number; fma: boolean; label: string }[] {
  const all = [{ threads: 1, fma: false }, { threads: cores, fma: false }, { threads: cores, fma: true }];
  const seen = new Set<string>();
  return all.filter((c) => !seen.has(`${c.threads}${c.fma}`) && seen.add(`${c.threads}${c.fma}`)).map((c) => ({ ...c, label: `${c.threads}${c.fma ? ' + FMA' : ''}` }));
}

/** Environment of a peer at `threads` threads: the BLAS and OpenMP pools sized, the rest inherited. */
function peerEnv(threads: number): NodeJS.ProcessEnv {
  const t = String(threads);
  return { ...process.env, OPENBLAS_NUM_THREADS: t, OMP_NUM_THREADS: t, MKL_NUM_THREADS: t };
}

export function numpyPeerArgs(u: string, v: string, N: number, d: number, dtype: DType, reps: number): string[] {
  return [join(PEERS_DIR, 'infonce_numpy.py'), '--u', u, '--v', v, '--n', String(N), '--d', String(d), '--dtype', dtype, '--tau', String(TAU), '--reps', String(reps)];
}

function memAvailable(): number {
  try {
    const m = /MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return Infinity;
}

/**
 * Estimated peak of a peer: numpy holds two N x N arrays (S and the work array); autograd about five
 * (S, logsumexp's saved results and backward temporaries). Measured at N = 4096 (1 thread): numpy 2.0 N²
 * (f64 and f32), torch 4.8 N² (f64) and 4.4 N² (f32), above the interpreter and library (~0.04 / 0.3 GiB).
 */
function peerSkip(peer: 'numpy' | 'torch', N: number, dtype: DType): string | null {
  const bytes = dtype === 'f64' ? 8 : 4;
  const est = (peer === 'numpy' ? 2 : 5) * N * N * bytes + (peer === 'numpy' ? 0.1 : 0.3) * 2 ** 30;
  const cap = Math.min(MEM_CAP, 0.8 * memAvailable());
  if (est > cap) return `not run: needs ≈ ${(est / 2 ** 30).toFixed(1)} GiB (cap ${(cap / 2 ** 30).toFixed(1)} GiB)`;
  return null;
}

function machine(): { cpu: string; cores: number; uptime: string } {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1]!.trim();
  } catch {
    // not Linux
  }
  const up = sh('uptime', []);
  return { cpu, cores: availableParallelism(), uptime: up.ok ? up.out.trim() : `load average: ${loadavg().map((x) => x.toFixed(2)).join(', ')}` };
}

/** Which libblas.so.3 Debian's alternatives select (what python3-torch and Debian's numpy load). */
function debianBlas(): string {
  const r = sh('update-alternatives', ['--query', 'libblas.so.3-x86_64-linux-gnu']);
  if (!r.ok) return 'update-alternatives: no libblas.so.3 alternative';
  const value = /^Value:\s*(.*)$/m.exec(r.out)?.[1] ?? '?';
  const status = /^Status:\s*(.*)$/m.exec(r.out)?.[1] ?? '?';
  const alts = [...r.out.matchAll(/^Alternative:\s*(.*)$/gm)].map((m) => m[1]!.replace('/usr/lib/x86_64-linux-gnu/', ''));
  return `libblas.so.3 → ${value.replace('/usr/lib/x86_64-linux-gnu/', '')} (${status} mode; installed: ${alts.join(', ')})`;
}

const fmtT = (s: number) => (s >= 1 ? `${s.toFixed(2)} s` : s >= 0.01 ? `${(s * 1000).toFixed(1)} ms` : `${(s * 1000).toFixed(2)} ms`);
const short = (p: string) => p.replace(/^.*\/(site-packages|dist-packages|x86_64-linux-gnu)\//, '…/$1/');

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.child) {
    process.stdout.write(`RESULT ${JSON.stringify(runChild(JSON.parse(args.child) as InfonceChild | SogclrChild))}\n`);
    return;
  }
  const t0 = Date.now();
  const log = (s: string) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);
  const m0 = machine();
  log(`machine: ${m0.cpu}, ${m0.cores} cores; uptime: ${m0.uptime}`);
  if (loadavg()[0]! > 0.5 * m0.cores) log(`warning: 1-minute load ${loadavg()[0]!.toFixed(2)} on ${m0.cores} cores: other processes share the cores; timings will be noisy`);
  const configs = configsOf(m0.cores);
  /** Peer results by (peer, N, dtype, threads): the FMA row reuses the all-cores peer run. */
  const peerCache = new Map<string, Timed>();
  const hasNumpy = sh(NUMPY_PY, ['-c', 'import numpy']).ok;
  const torchProbe = sh(TORCH_PY, ['-c', 'import torch']);
  const hasTorch = torchProbe.ok;
  if (!hasNumpy) log(`numpy peer skipped: \`${NUMPY_PY} -c "import numpy"\` failed`);
  if (!hasTorch) log(`torch peer skipped: \`${TORCH_PY} -c "import torch"\` failed`);
  const want = (k: string) => !args.only || args.only.includes(k);
  const Ns = args.ns ?? (args.quick ? [1024] : [1024, 4096, 16384]);
  const repsFor = (N: number) => (args.quick ? 1 : N >= 16384 ? 3 : N >= 4096 ? 5 : 7);
  const dir = mkdtempSync(join(tmpdir(), 'contrastlab-peers-'));
  const seen: { numpy?: Timed; torch?: Timed; contrastlab: Map<string, unknown> } = { contrastlab: new Map() };
  const rows: string[] = [];
  const mismatches: string[] = [];
  try {
    if (want('infonce')) {
      for (const N of Ns) {
        const rng = Rng.fromSeed(`peers-infonce-${N}-${D}`);
        const u = join(dir, `U-${N}.f64`);
        const v = join(dir, `V-${N}.f64`);
        writeF64(u, unitRows(rng, N, D));
        writeF64(v, unitRows(rng, N, D));
        const reps = repsFor(N);
        for (const dtype of ['f64', 'f32'] as const) {
          for (const { threads, fma, label } of configs) {
            const cl = spawnContrastlab({ kind: 'infonce', N, d: D, dtype, threads, fma, reps, u, v });
            seen.contrastlab.set(`${dtype}, threads = ${label}`, cl.info);
            const clT = median(cl.times);
            log(`contrastlab infonce ${dtype} N=${N} threads=${label}: ${fmtT(clT)}, ${cl.maxRssMiB.toFixed(0)} MiB, value ${cl.value}, info ${JSON.stringify(cl.info)}`);
            const cell = (peer: 'numpy' | 'torch'): { time: string; ratio: string; rss: string; diff: string } => {
              const have = peer === 'numpy' ? hasNumpy : hasTorch;
              if (!have) return { time: 'not installed', ratio: '—', rss: '—', diff: '—' };
              const skip = peerSkip(peer, N, dtype);
              if (skip) return { time: skip, ratio: '—', rss: '—', diff: '—' };
              const key = `${peer} ${N} ${dtype} ${threads}`;
              const r = peerCache.get(key) ?? (peer === 'numpy'
                ? result(`numpy N=${N} ${dtype}`, sh(NUMPY_PY, numpyPeerArgs(u, v, N, D, dtype, reps), peerEnv(threads)))
                : result(`torch N=${N} ${dtype}`, sh(TORCH_PY, [join(PEERS_DIR, 'infonce_torch.py'), '--u', u, '--v', v, '--n', String(N), '--d', String(D), '--dtype', dtype, '--tau', String(TAU), '--reps', String(reps), '--threads', String(threads)], peerEnv(threads))));
              peerCache.set(key, r);
              seen[peer] ??= r;
              const t = median(r.times);
              const diff = Math.abs(r.value - cl.value);
              const tol = dtype === 'f64' ? 1e-10 : 1e-4 * Math.abs(cl.value);
              if (!(diff <= tol)) mismatches.push(`${peer} ${dtype} N=${N} threads=${threads}: value ${r.value} vs contrastlab ${cl.value} (|Δ| = ${diff.toExponential(2)} > ${tol.toExponential(1)})`);
              log(`  ${peer}: ${fmtT(t)}, ${r.maxRssMiB.toFixed(0)} MiB, value ${r.value} (|Δ| ${diff.toExponential(2)})`);
              return { time: fmtT(t), ratio: `**${(clT / t).toFixed(2)}**`, rss: r.maxRssMiB.toFixed(0), diff: diff.toExponential(1) };
            };
            const np = cell('numpy');
            const th = cell('torch');
            rows.push(`| ${N} | ${dtype} | ${label} | ${fmtT(clT)} (${reps}) | ${np.time} | ${np.ratio} | ${th.time} | ${th.ratio} | ${cl.maxRssMiB.toFixed(0)} / ${np.rss} / ${th.rss} | ${cl.value.toFixed(12)} | ${np.diff} / ${th.diff} |`);
          }
        }
      }
    }
    const sogRows: string[] = [];
    const sogN = args.quick ? 10_000 : 100_000;
    if (want('sogclr')) {
      const { U, V } = sogclrData(sogN);
      const u = join(dir, 'sogclr-U.f64');
      const v = join(dir, 'sogclr-V.f64');
      writeF64(u, U);
      writeF64(v, V);
      const torchRuns = new Map<number, unknown>();
      for (const { threads, fma, label } of configs) {
        const cl = spawnContrastlab({ kind: 'sogclr', N: sogN, threads, fma, epochs: 2 }) as unknown as { epochs: { epoch: number; totalMs: number; meanBatchValue: number }[]; maxRssMiB: number; info: unknown };
        seen.contrastlab.set(`f32, threads = ${label}`, cl.info);
        log(`contrastlab sogclr N=${sogN} threads=${label}: ${cl.epochs.map((e) => fmtT(e.totalMs / 1000)).join(', ')}, ${cl.maxRssMiB.toFixed(0)} MiB`);
        type TorchSogclr = { epochs: { epoch: number; seconds: number; meanBatchValue: number }[]; maxRssMiB: number };
        let th: TorchSogclr | null = (torchRuns.get(threads) as TorchSogclr | undefined) ?? null;
        if (hasTorch && th === null) {
          const r = result(`torch sogclr N=${sogN}`, sh(TORCH_PY, [join(PEERS_DIR, 'sogclr_torch.py'), '--u', u, '--v', v, '--n', String(sogN), '--d', String(D), '--batch', '256', '--tau', String(TAU), '--gamma', '0.9', '--lr', '20', '--epochs', '2', '--threads', String(threads)], peerEnv(threads)));
          seen.torch ??= r;
          const t = r as unknown as TorchSogclr;
          th = t;
          torchRuns.set(threads, t);
          log(`  torch: ${t.epochs.map((e) => fmtT(e.seconds)).join(', ')}, ${t.maxRssMiB.toFixed(0)} MiB`);
        }
        for (const e of cl.epochs) {
          const te = th?.epochs.find((x) => x.epoch === e.epoch);
          sogRows.push(`| ${sogN.toLocaleString('en-US')} | ${label} | ${e.epoch} | ${fmtT(e.totalMs / 1000)} | ${te ? fmtT(te.seconds) : hasTorch ? '—' : 'not installed'} | ${te ? `**${((e.totalMs / 1000) / te.seconds).toFixed(2)}**` : '—'} | ${e.meanBatchValue.toFixed(4)} / ${te ? te.meanBatchValue.toFixed(4) : '—'} | ${cl.maxRssMiB.toFixed(0)} / ${th ? th.maxRssMiB.toFixed(0) : '—'} |`);
        }
      }
    }
    const m1 = machine();
    const command = `npm run bench:peers${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
    const peerLine = (name: string, r: Timed | undefined, missing: string): string => {
      if (!r) return `- ${name}: ${missing}`;
      const blas = Array.isArray(r['blas']) ? (r['blas'] as string[]).join('; ') : String(r['blas']);
      const loaded = (r['blasLoaded'] as string[]).map(short).join(', ') || 'none found in /proc/self/maps';
      return `- ${name}: ${r['executable']} (Python ${r['python']}), ${name === 'numpy' ? 'numpy' : 'torch'} ${r['version']}; BLAS: ${blas}; mapped: ${loaded}; environment: \`${Object.entries(r['env'] as Record<string, string>).filter(([k]) => !/NUM_THREADS/.test(k)).map(([k, x]) => `${k}=${x}`).join(' ') || 'none'}\` (thread counts set per row).`;
    };
    const out: string[] = [
      '## Peers: numpy + OpenBLAS and PyTorch CPU (`benchmarks/peers.ts`)',
      '',
      `Command: \`${command}\` (${((Date.now() - t0) / 1000 / 60).toFixed(1)} min). Date: ${new Date().toISOString()}.`,
      `Machine: ${m1.cpu}, ${m1.cores} cores, Node ${process.version}.`,
      `Load before: \`${m0.uptime}\`; after: \`${m1.uptime}\`.`,
      '',
      'What each ran with:',
      `- contrastlab: \`createCpuBackend({ dtype, threads })\`; its \`backend.info\`: ${[...seen.contrastlab].map(([k, info]) => `${k}: \`${JSON.stringify(info)}\``).join('; ')}.`,
      peerLine('numpy', seen.numpy, `not run (\`${NUMPY_PY} -c "import numpy"\` failed).`),
      peerLine('torch', seen.torch, `not run: \`${TORCH_PY} -c "import torch"\` failed (${(torchProbe.err.trim().split('\n').pop() ?? '').slice(0, 120)}); install Debian's python3-torch (below).`),
      `- Debian's BLAS: ${debianBlas()}.`,
      '',
      'Getting the peers: numpy is the image\'s `python3` (pip wheel, its own bundled OpenBLAS, `scipy-openblas`). PyTorch is',
      'Debian\'s `python3-torch` for `/usr/bin/python3` (`apt-get install python3-torch libopenblas0-pthread`); without',
      '`libopenblas0-pthread` Debian\'s `libblas.so.3` alternative is the slow reference BLAS (`blas/libblas.so.3`) and torch\'s',
      'matrix products run on it; check with `update-alternatives --display libblas.so.3-x86_64-linux-gnu` and the "mapped" list above.',
      'This image sets `OPENBLAS_CORETYPE` and `OPENBLAS_L2_SIZE` (values in the environment lines above), which both OpenBLAS',
      'builds read; the driver sets `OPENBLAS_NUM_THREADS` = `OMP_NUM_THREADS` = `MKL_NUM_THREADS` = threads for the peers',
      'and torch also calls `torch.set_num_threads(threads)`.',
      '',
      '### Fused two-sided InfoNCE, value and both gradients (d = 128, τ = 0.1)',
      '',
      'Same unit-row inputs for all three (raw float64 file; f32 rows round them). contrastlab: `infonceLossAndGrad`',
      '(pairLse + pairSoftmaxGrad, gradients returned as float64); numpy: S = U·Vᵀ/τ materialised, max-shifted row and column',
      'log-sum-exps, G = (P + Q − 2I)/(2N), G·V/τ and Gᵀ·U/τ (`benchmarks/peers/infonce_numpy.py`); torch: the loss with',
      '`logsumexp` and `backward()` (`benchmarks/peers/infonce_torch.py`). Each case in its own process; one warm-up call, then',
      'the median of (reps) calls. Ratio = contrastlab time / peer time at the same thread count (< 1: contrastlab faster; the issue\'s targets at N = 4096: f64 ≤ 0.8, f32 ≤ 0.7 against numpy). "2 + FMA": the relaxed-SIMD build (Node 20 flag `--experimental-wasm-relaxed-simd`), compared with the peers at 2 threads.',
      'Peak RSS is each process\'s own maximum (MiB; Node ≈ 50, Python + numpy ≈ 30, + torch ≈ 300). |Δ value| against',
      'contrastlab (float64: must be ≤ 1e-10).',
      '',
      '| N | dtype | threads | contrastlab (reps) | numpy | contrastlab / numpy | torch | contrastlab / torch | peak RSS MiB (cl / np / torch) | contrastlab value | \\|Δ value\\| np / torch |',
      '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...rows,
    ];
    if (!want('infonce')) out.splice(out.length - rows.length - 2, rows.length + 2, '(not run: --only)');
    if (mismatches.length) out.push('', '**Value mismatches:**', ...mismatches.map((s) => `- ${s}`));
    out.push(
      '',
      '### SogCLR epoch (bimodal, free embeddings, d = 128, B = 256, f32, τ = 0.1, γ = 0.9, ε₀ = 0, SGD step 20)',
      '',
      'contrastlab: `runSogclrEpochs` of `benchmarks/sogclr.ts` (the estimator `makeEstimator({kind: \'sogclr\'})`, its u state, plain SGD',
      'on the 2B batch rows and re-normalisation); torch: `benchmarks/peers/sogclr_torch.py`, the same loop with autograd on the',
      'surrogate (τ/(2B))·Σ_a ĝ_a/u_a (u detached, one u per anchor, log u kept in float64). Both start from the same embeddings and',
      'draw their own permutations. Epoch 1 is all first visits, epoch 2 the moving-average path; the mean batch value is the plug-in',
      '(τ/(2B))·Σ_a log ĝ_a (a sanity check: the two should be close, not equal). Ratio = contrastlab / torch (the issue\'s target ≤ 0.5).',
      '',
      '| N | threads | epoch | contrastlab | torch | contrastlab / torch | mean batch value cl / torch | peak RSS MiB cl / torch |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...(sogRows.length ? sogRows : ['| (not run: --only) | | | | | | | |']),
    );
    const md = out.join('\n') + '\n';
    process.stdout.write(md);
    if (mismatches.length) log(`value mismatches:\n${mismatches.join('\n')}`);
    if (args.readme) writeReadmeSection('bench:peers', md);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && existsSync(process.argv[1]) && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) await main();
