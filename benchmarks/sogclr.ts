/**
 * One bimodal SogCLR epoch on free embeddings at scale (THEORY 5).
 *
 *   node --import tsx benchmarks/sogclr.ts            print the table
 *   node --import tsx benchmarks/sogclr.ts --readme   also write it into benchmarks/README.md
 *                                                    between <!-- sogclr:start --> and <!-- sogclr:end -->
 *
 * Setting: N = 100,000 pairs, d = 128, B = 256, float32 CPU backend, τ = 0.1, γ = 0.9, ε₀ = 0;
 * U and V free embeddings (float32 N x d, unit rows); each epoch a fresh random permutation cut into
 * ⌈N/B⌉ batches (the last one partial); each step gathers the batch rows, runs the estimator
 * (`makeEstimator({kind: 'sogclr', ...})`: pairLse, the u update, pairSoftmaxGrad), and applies a plain
 * SGD step to the batch rows followed by re-normalisation to the sphere; no exact-objective logging.
 * Two epochs are timed (epoch 1: every entry a first visit; epoch 2: the moving-average path), after a
 * warm-up of a few steps on a throw-away state.
 *
 * Per-step breakdown: gather (two gatherRows), pairLse and pairSoftmaxGrad (timed by wrapping the
 * backend's kernel table, which the estimator receives explicitly), "estimator other" (the rest of
 * `step`: input checks, the in-place u update of the batch's 2B slots, the weights, float64
 * conversion of the gradients) and update (SGD + re-normalisation of the 2B rows).
 *
 * The run happens in a child process, so that its peak RSS (`process.resourceUsage().maxRSS`) is the
 * epoch's alone (plus Node itself, ≈ 50 MiB). Never gates anything.
 */
import { execFileSync, execSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createCpuBackend } from '../src/backend/index.ts';
import type { Backend, Kernels } from '../src/backend/types.ts';
import { gatherRows, type Matrix32, zeros } from '../src/core/matrix.ts';
import { Rng } from '../src/core/random.ts';
import { makeEstimator } from '../src/estimators/index.ts';
import { writeReadmeSection } from './readme.ts';

const N = 100_000;
const NDEFAULT = N;
const D = 128;
const B = 256;
const TAU = 0.1;
const GAMMA = 0.9;
/** SGD step on the batch rows (the estimate's rows are O(1/B); this moves them visibly). */
const LR = 20;

interface EpochTiming {
  epoch: number;
  steps: number;
  totalMs: number;
  gatherMs: number;
  pairLseMs: number;
  pairSoftmaxGradMs: number;
  estimatorOtherMs: number;
  updateMs: number;
  meanBatchValue: number;
}

export interface ChildResult {
  epochs: EpochTiming[];
  maxRssMiB: number;
  setupMs: number;
  simd: unknown;
  /** The backend's `info` (benchmarks/peers.ts records it). */
  info?: Readonly<Record<string, string | number | boolean>>;
}

/** Options of {@link runSogclrEpochs} (benchmarks/peers.ts passes them; this script uses the defaults). */
export interface SogclrRunOptions {
  n?: number;
  epochs?: number;
  /** Extra createCpuBackend options (e.g. threads), on top of dtype f32. */
  backend?: Record<string, unknown>;
}

/** The initial free embeddings (U, V) of the run: the first draws of the seed 'sogclr-bench'. */
export function sogclrData(n = N): { U: Matrix32; V: Matrix32; rng: Rng } {
  const rng = Rng.fromSeed('sogclr-bench');
  const U = unitRowsF32(rng, n, D);
  const V = unitRowsF32(rng, n, D);
  return { U, V, rng };
}

function unitRowsF32(rng: Rng, n: number, d: number): Matrix32 {
  const m = zeros(n, d, 'f32');
  for (let i = 0; i < n; i++) {
    let s = 0;
    const row = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      row[j] = rng.normal();
      s += row[j]! * row[j]!;
    }
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < d; j++) m.data[i * d + j] = row[j]! * inv;
  }
  return m;
}

/** The backend with its two pair kernels timed (milliseconds accumulated into `acc`). */
function timedBackend(be: Backend, acc: { pairLse: number; pairSoftmaxGrad: number }): Backend {
  const k = be.kernels;
  const kernels: Kernels = {
    gemm: (...a) => k.gemm(...a),
    pairLse: (...a) => {
      const t = performance.now();
      const r = k.pairLse(...a);
      acc.pairLse += performance.now() - t;
      return r;
    },
    pairSoftmaxGrad: (...a) => {
      const t = performance.now();
      const r = k.pairSoftmaxGrad(...a);
      acc.pairSoftmaxGrad += performance.now() - t;
      return r;
    },
    pairSigmoid: (...a) => k.pairSigmoid(...a),
  };
  return { ...be, name: be.name, dtype: be.dtype, blockSize: be.blockSize, info: be.info, kernels, dispose: () => be.dispose() };
}

/** The timed run (in the calling process): set-up, warm-up, then `epochs` SogCLR epochs. */
export function runSogclrEpochs(opts: SogclrRunOptions = {}): ChildResult {
  const N = opts.n ?? NDEFAULT;
  const t0 = performance.now();
  const base = createCpuBackend({ ...opts.backend, dtype: 'f32' } as Parameters<typeof createCpuBackend>[0]);
  const acc = { pairLse: 0, pairSoftmaxGrad: 0 };
  const backend = timedBackend(base, acc);
  const { U, V, rng } = sogclrData(N);
  const est = makeEstimator({ kind: 'sogclr', modality: 'bimodal', tau: TAU, gamma: GAMMA, eps0: 0 });
  // Warm-up (JIT, wasm memory growth) on a throw-away state.
  let warm = est.init(N);
  for (let s = 0; s < 5; s++) {
    const index = rng.sample(N, B);
    warm = est.step({ U: gatherRows(U, index), V: gatherRows(V, index), index, epoch: 0, step: s, backend }, warm).state;
  }
  warm = null as unknown as typeof warm;
  const setupMs = performance.now() - t0;
  let state = est.init(N);
  const epochs: EpochTiming[] = [];
  let step = 0;
  for (let epoch = 0; epoch < (opts.epochs ?? 2); epoch++) {
    acc.pairLse = 0;
    acc.pairSoftmaxGrad = 0;
    let gatherMs = 0;
    let stepMs = 0;
    let updateMs = 0;
    let valueSum = 0;
    const e0 = performance.now();
    const perm = rng.permutation(N);
    const nb = Math.ceil(N / B);
    for (let j = 0; j < nb; j++) {
      const index = perm.subarray(j * B, Math.min(N, (j + 1) * B));
      const ta = performance.now();
      const Ub = gatherRows(U, index);
      const Vb = gatherRows(V, index);
      const tb = performance.now();
      const out = est.step({ U: Ub, V: Vb, index, epoch, step: step++, backend }, state);
      const tc = performance.now();
      state = out.state;
      valueSum += out.batchValue;
      // Plain SGD on the batch rows, then back onto the sphere.
      for (const [X, G] of [[U, out.gradU], [V, out.gradV]] as const) {
        for (let r = 0; r < index.length; r++) {
          const i = index[r]!;
          let s = 0;
          for (let c = 0; c < D; c++) {
            const x = X.data[i * D + c]! - LR * G.data[r * D + c]!;
            X.data[i * D + c] = x;
            s += x * x;
          }
          const inv = 1 / Math.sqrt(s);
          for (let c = 0; c < D; c++) X.data[i * D + c]! *= inv;
        }
      }
      const td = performance.now();
      gatherMs += tb - ta;
      stepMs += tc - tb;
      updateMs += td - tc;
    }
    const totalMs = performance.now() - e0;
    epochs.push({
      epoch: epoch + 1, steps: nb, totalMs, gatherMs, pairLseMs: acc.pairLse, pairSoftmaxGradMs: acc.pairSoftmaxGrad,
      estimatorOtherMs: stepMs - acc.pairLse - acc.pairSoftmaxGrad, updateMs, meanBatchValue: valueSum / nb,
    });
  }
  const result: ChildResult = { epochs, maxRssMiB: process.resourceUsage().maxRSS / 1024, setupMs, simd: base.info['simd'], info: base.info };
  base.dispose();
  return result;
}

function child(): void {
  process.stdout.write(JSON.stringify(runSogclrEpochs()) + '\n');
}

const fmt = (x: number, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function parent(): void {
  const uptime = execSync('uptime').toString().trim();
  const load = loadavg();
  const cores = cpus().length;
  console.error(`uptime before: ${uptime}`);
  if (load[0]! > cores * 0.5) console.error(`warning: 1-minute load average ${load[0]!.toFixed(2)} on ${cores} cores; timings may be noisy`);
  const self = fileURLToPath(import.meta.url);
  const w0 = performance.now();
  const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--child'], { encoding: 'utf8', maxBuffer: 1 << 20 });
  const wallS = (performance.now() - w0) / 1000;
  const r = JSON.parse(out.trim().split('\n').pop()!) as ChildResult;
  const after = execSync('uptime').toString().trim();
  const rows = r.epochs.map((e) => {
    const pct = (x: number) => `${fmt((x / e.steps) * 1000, 0)} µs (${fmt((100 * x) / e.totalMs, 1)}%)`;
    return `| ${e.epoch} | ${e.steps} | **${fmt(e.totalMs / 1000, 2)} s** | ${pct(e.gatherMs)} | ${pct(e.pairLseMs)} | ${pct(e.pairSoftmaxGradMs)} | ${pct(e.estimatorOtherMs)} | ${pct(e.updateMs)} | ${e.meanBatchValue.toFixed(4)} |`;
  });
  const lines = [
    '## SogCLR epoch at scale (`benchmarks/sogclr.ts`)',
    '',
    `Command: \`node --import tsx benchmarks/sogclr.ts --readme\` (${fmt(wallS, 1)} s in all, including start-up and the data). Date: ${new Date().toISOString()}.`,
    `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cores} cores, Node ${process.version}, kernel threads: ${String(r.info?.['threads'] ?? 1)}, FMA build: ${String(r.info?.['fma'] ?? false)}, wasm SIMD: ${String(r.simd)}.`,
    `Load before: \`${uptime}\`; after: \`${after}\`.`,
    '',
    `One bimodal SogCLR epoch on free embeddings: N = ${fmt(N)}, d = ${D}, B = ${B} (${Math.ceil(N / B)} steps, the last one partial), float32 CPU backend, τ = ${TAU}, γ = ${GAMMA}, ε₀ = 0;`,
    'each epoch a fresh permutation; per step: gather the batch rows of U and V, `makeEstimator({kind: \'sogclr\'})`.step (pairLse, the u update,',
    `pairSoftmaxGrad), plain SGD on the 2B batch rows (step ${LR}) and re-normalisation; no exact-objective logging. Epoch 1 is all first visits,`,
    'epoch 2 the moving-average path. Times per step are means; "estimator other" is the rest of `step` (input checks; the u update of the',
    'batch\'s 2B slots, in place: no O(N) copy of the state since the in-place contract; the weights;',
    'float64 conversion of the gradients). Peak RSS is the child process\'s `process.resourceUsage().maxRSS` (Node itself ≈ 50 MiB;',
    `U and V in float32 take ${fmt((2 * N * D * 4) / 2 ** 20, 1)} MiB).`,
    '',
    '| epoch | steps | time | gather | pairLse | pairSoftmaxGrad | estimator other | SGD + projection | mean batch value |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Peak RSS: **${fmt(r.maxRssMiB, 0)} MiB**. Set-up (data, backend, warm-up): ${fmt(r.setupMs / 1000, 2)} s. Target: an epoch under 10 s on 2 cores.`,
  ];
  const table = lines.join('\n');
  console.log(table);
  if (process.argv.includes('--readme')) writeReadmeSection('sogclr', table, 'SogCLR epoch at scale (`benchmarks/sogclr.ts`)');
}

// Run only as a script (benchmarks/peers.ts imports runSogclrEpochs).
if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  if (process.argv.includes('--child')) child();
  else parent();
}
