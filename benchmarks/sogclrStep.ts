/**
 * SogCLR step time against N: the per-step work of the training loop with plain SGD on free
 * embeddings must not grow with the number of examples (the estimator updates its state in place for
 * the batch's anchors only; the model reads and writes the batch rows only).
 *
 *   node --import tsx benchmarks/sogclrStep.ts            print the table
 *   node --import tsx benchmarks/sogclrStep.ts --readme   also write it into benchmarks/README.md
 *                                                        between <!-- sogclr-step:start --> and <!-- sogclr-step:end -->
 *   node --import tsx benchmarks/sogclrStep.ts --child N  one N (JSON on stdout; what the parent runs)
 *
 * Setting: bimodal SogCLR (τ = 0.1, γ = 0.9, ε₀ = 0, one u slot per anchor), `freeEmbeddings(N, d)`
 * (projected: unit rows, float64), B = 256, d = 128, float64 CPU backend (the default backend),
 * reshuffled batches (a fresh permutation of N each epoch, cut into ⌊N/B⌋ full batches). Per step,
 * exactly the training loop's plain-SGD path:
 *   model.forward(params, index) → estimator.step → model.backwardRows → model.applyRowUpdate(lr 0.1)
 * The estimator state starts with every slot visited (u = 1), so every timed step takes the
 * moving-average path whatever N (at N = 10^6, 200 steps would otherwise be all first visits, a
 * slightly different code path). Each N runs in its own child process (fresh heap, JIT and caches);
 * after WARMUP steps, STEPS steps are timed one by one; the table gives the medians of the step, of
 * estimator.step alone, and of the model's three calls together. The permutation (O(N) once per
 * epoch, the sampler's work, amortised O(B) per step) is drawn outside the timed region. Never gates
 * anything.
 */
import { execFileSync, execSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createCpuBackend } from '../src/backend/index.ts';
import { Rng } from '../src/core/random.ts';
import { makeEstimator, type SogclrState } from '../src/estimators/index.ts';
import { freeEmbeddings } from '../src/models/free.ts';
import { writeReadmeSection } from './readme.ts';
import { median } from './stats.ts';

const NS = [10_000, 100_000, 1_000_000];
const D = 128;
const B = 256;
const TAU = 0.1;
const GAMMA = 0.9;
const LR = 0.1;
const WARMUP = 40;
const STEPS = 200;

interface ChildResult {
  n: number;
  stepMs: number;
  estimatorMs: number;
  modelMs: number;
  p90StepMs: number;
  meanBatchValue: number;
  setupS: number;
}

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

function child(n: number): void {
  const t0 = performance.now();
  const backend = createCpuBackend({ dtype: 'f64', threads: 1 });
  const rng = Rng.fromSeed(`sogclr-step ${n}`);
  const model = freeEmbeddings(n, D);
  const params = model.init(rng);
  const est = makeEstimator({ kind: 'sogclr', modality: 'bimodal', tau: TAU, gamma: GAMMA, eps0: 0 });
  const state = est.init(n) as SogclrState;
  state.s.fill(1);
  state.visited.fill(1); // b = 0: u = 1 in every slot, every step on the moving-average path
  let perm = rng.permutation(n);
  let j = 0;
  const perEpoch = Math.floor(n / B);
  const stepMs: number[] = [];
  const estMs: number[] = [];
  const modelMs: number[] = [];
  let valueSum = 0;
  const setupS = (performance.now() - t0) / 1000;
  for (let step = 0; step < WARMUP + STEPS; step++) {
    if (j === perEpoch) {
      perm = rng.permutation(n);
      j = 0;
    }
    const index = perm.slice(j * B, (j + 1) * B);
    j++;
    const stepRng = rng.split();
    const ta = performance.now();
    const fw = model.forward(params, index, stepRng, backend);
    const tb = performance.now();
    const out = est.step({ U: fw.U, V: fw.V, index, epoch: 0, step, backend }, state);
    const tc = performance.now();
    const rows = model.backwardRows!(params, fw.cache, out.gradU, out.gradV);
    model.applyRowUpdate!(params, rows, LR);
    const td = performance.now();
    if (step >= WARMUP) {
      stepMs.push(td - ta);
      estMs.push(tc - tb);
      modelMs.push(tb - ta + (td - tc));
      valueSum += out.batchValue;
    }
  }
  backend.dispose();
  const r: ChildResult = {
    n, stepMs: median(stepMs), estimatorMs: median(estMs), modelMs: median(modelMs), p90StepMs: quantile(stepMs, 0.9),
    meanBatchValue: valueSum / STEPS, setupS,
  };
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

const fmt = (x: number, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function parent(): void {
  const before = execSync('uptime').toString().trim();
  const self = fileURLToPath(import.meta.url);
  const results: ChildResult[] = [];
  const loads: number[] = [loadavg()[0]!];
  for (const n of NS) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--child', String(n)], { encoding: 'utf8', maxBuffer: 1 << 20 });
    results.push(JSON.parse(out.trim().split('\n').pop()!) as ChildResult);
    loads.push(loadavg()[0]!);
    console.error(`N = ${n}: ${JSON.stringify(results[results.length - 1])}`);
  }
  const after = execSync('uptime').toString().trim();
  const base = results[0]!.stepMs;
  const spread = Math.max(...results.map((r) => r.stepMs)) / Math.min(...results.map((r) => r.stepMs)) - 1;
  const maxLoad = Math.max(...loads);
  const rows = results.map((r) => `| ${fmt(r.n)} | **${fmt(r.stepMs, 2)}** | ${fmt(r.estimatorMs, 2)} | ${fmt(r.modelMs, 2)} | ${fmt(r.p90StepMs, 2)} | ${fmt(r.stepMs / base, 2)} | ${fmt(r.setupS, 1)} s |`);
  const lines = [
    '## SogCLR step time against N (`benchmarks/sogclrStep.ts`)',
    '',
    `Command: \`node --import tsx benchmarks/sogclrStep.ts --readme\`. Date: ${new Date().toISOString()}.`,
    `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, one thread.`,
    `Load before: \`${before}\`; after: \`${after}\`.${maxLoad > 1.5 ? ` **The 1-minute load average (sampled before and after each N; it counts this benchmark's own process, ≈ 1) reached ${fmt(maxLoad, 2)}: other processes were running, the times are noisier than on a quiet machine.**` : ''}`,
    '',
    `Bimodal SogCLR (τ = ${TAU}, γ = ${GAMMA}, ε₀ = 0) on \`freeEmbeddings(N, ${D})\` (projected, float64 rows), B = ${B}, float64 CPU backend, reshuffled batches;`,
    `per step the training loop's plain-SGD path: \`model.forward\` on the batch index → \`estimator.step\` (state updated in place) → \`model.backwardRows\` →`,
    `\`model.applyRowUpdate\` (lr ${LR}). State starts with every slot visited (every timed step on the moving-average path). Each N in its own process;`,
    `${WARMUP} warm-up steps, then ${STEPS} timed; medians per step (p90 of the step too). "model" is forward + backwardRows + applyRowUpdate.`,
    'Set-up (the N x d parameters, state, permutation) is not in the step times.',
    '',
    '| N | step (ms, median) | estimator.step (ms) | model (ms) | step p90 (ms) | step / step at N = 10,000 | set-up |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Spread of the median step over N: ${fmt(100 * spread, 1)}% (target: within 20% from N = 10^4 to 10^6). Mean batch value over the timed steps: ${results.map((r) => r.meanBatchValue.toFixed(4)).join(', ')}.`,
  ];
  const table = lines.join('\n');
  console.log(table);
  if (process.argv.includes('--readme')) writeReadmeSection('sogclr-step', table); // the heading is the block's first line
}

const ci = process.argv.indexOf('--child');
if (ci >= 0) child(Number(process.argv[ci + 1]));
else parent();
