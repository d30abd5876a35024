/**
 * The MNIST cells against the PyTorch peer (issue 17, item 6): one cell of each MNIST preset, trained
 * by contrastlab's `train` (the preset's own arm spec) and by benchmarks/peers/mnist_torch.py (the same
 * encoder, augmentations, loss, optimizer and digit split; torch's own random streams), per seed, and
 * the time of one training epoch of the `mnist-batch-size` cell at B = 256, both in the same run.
 *
 *   npm run bench:mnist                       print the tables (about 10 minutes on 2 cores)
 *   npm run bench:mnist -- --readme           also write them into benchmarks/README.md (section mnist)
 *   npm run bench:mnist -- --quick            timing only, no accuracy cells (development)
 *
 * Cells: `mnist-batch-size`'s "SimCLR B=256" and "SogCLR B=256" (8000 / 2000 digits, 5 epochs) and
 * `mnist-batch-selection`'s "SimCLR B=32 reshuffle" (7936 / 2000 digits, 4 epochs), seeds 0, 1, 2,
 * float64 on both sides. contrastlab reports its ridge probe (src/analysis/downstream.ts) and 5-NN;
 * the peer reports the same ridge probe and 5-NN, plus a multinomial logistic probe.
 *
 * Epoch time: training only (sampling, augmentation, forward, loss, backward, the AdamW step), the
 * median of epochs 2 and 3 of a 3-epoch run (contrastlab: between its per-epoch log points, which log
 * only the batch value; torch: its own per-epoch timer after warm-up steps). contrastlab at 1 thread,
 * all cores, all cores with the FMA build; torch at 1 thread and all cores; float64 and float32.
 * Each configuration runs in its own process. Ratios are contrastlab / torch (below 1: contrastlab
 * faster), against torch's faster configuration of the same precision.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCpuBackend } from '../src/backend/index.ts';
import type { DType } from '../src/core/matrix.ts';
import { findPreset } from '../src/experiments/presets/index.ts';
import { validateStudy } from '../src/experiments/spec.ts';
import { expandStudy } from '../src/experiments/studyLanguage.ts';
import { train } from '../src/experiments/train.ts';
import type { ExperimentSpec } from '../src/experiments/types.ts';
import { writeReadmeSection } from './readme.ts';
import { median } from './stats.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const TORCH_PY = process.env['PEERS_TORCH_PYTHON'] ?? '/usr/bin/python3';
const PEER = join(here, 'peers', 'mnist_torch.py');
const SEEDS = [0, 1, 2];

interface Cell { preset: 'mnist-batch-size' | 'mnist-batch-selection'; arm: string; method: 'simclr' | 'sogclr'; B: number; train: number; epochs: number }
const CELLS: Cell[] = [
  { preset: 'mnist-batch-size', arm: 'SimCLR B=256', method: 'simclr', B: 256, train: 8000, epochs: 5 },
  { preset: 'mnist-batch-size', arm: 'SogCLR B=256', method: 'sogclr', B: 256, train: 8000, epochs: 5 },
  { preset: 'mnist-batch-selection', arm: 'SimCLR B=32 reshuffled', method: 'simclr', B: 32, train: 7936, epochs: 4 },
];

/** The preset's arm, at full size. */
function armSpec(preset: string, arm: string): ExperimentSpec {
  const study = validateStudy(expandStudy(findPreset(preset)!.spec('full')));
  const e = study.experiments.find((x) => x.name === arm);
  if (!e) throw new Error(`${preset} has no arm '${arm}'; it has ${study.experiments.map((x) => x.name).join(', ')}`);
  return e;
}

// ------------------------------------------------------------------ children

type Child =
  | { kind: 'time'; dtype: DType; threads: number; fma: boolean }
  | { kind: 'cell'; preset: string; arm: string; seed: number };

function runChild(c: Child): unknown {
  if (c.kind === 'cell') {
    const spec = armSpec(c.preset, c.arm);
    const backend = createCpuBackend({ dtype: 'f64', threads: 1 });
    const t0 = performance.now();
    const r = train(spec, c.seed, { backend });
    backend.dispose();
    return { probe: r.final.probe, knn: r.final.knn, objective: r.final.objective, seconds: (performance.now() - t0) / 1000 };
  }
  // Timing: the B = 256 SimCLR cell, 3 epochs, logging only the batch value at every epoch.
  const base = armSpec('mnist-batch-size', 'SimCLR B=256');
  const perEpoch = Math.ceil(8000 / 256);
  const spec: ExperimentSpec = { ...base, budget: { epochs: 3 }, logEvery: perEpoch, metrics: ['batchValue'] };
  delete (spec as { logEveryEpochs?: number }).logEveryEpochs;
  const backend = createCpuBackend({ dtype: c.dtype, threads: c.threads, fma: c.fma });
  const at: number[] = [];
  train(spec, 0, { backend, onLog: () => { at.push(performance.now()); } });
  const info = backend.info;
  backend.dispose();
  const epochs = at.slice(1).map((t, i) => (t - at[i]!) / 1000);
  return { epochs, info };
}

// ------------------------------------------------------------------ the parent

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 24, cwd: root, env });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) throw new Error(`${cmd} ${args.join(' ')} failed:\n${(r.stderr ?? '').slice(-4000)}`);
  return line.slice(7);
}

function child<T>(c: Child): T {
  const flags = c.kind === 'time' && c.fma ? ['--experimental-wasm-relaxed-simd'] : [];
  return JSON.parse(sh(process.execPath, [...flags, '--import', 'tsx', fileURLToPath(import.meta.url), '--child', JSON.stringify(c)])) as T;
}

interface PeerResult { epochs: { seconds: number }[]; ridgeProbeAccuracy?: number; knnAccuracyK5?: number; probeAccuracy?: number; threads: unknown }

function peer(args: string[], threads: number): PeerResult {
  const t = String(threads);
  return JSON.parse(sh(TORCH_PY, [PEER, ...args, '--threads', t], { ...process.env, OPENBLAS_NUM_THREADS: t, OMP_NUM_THREADS: t, MKL_NUM_THREADS: t })) as PeerResult;
}

const f4 = (x: number | undefined) => (x === undefined ? '—' : x.toFixed(4));

function hasTorch(): boolean {
  return existsSync(TORCH_PY) && spawnSync(TORCH_PY, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
}

function main(): void {
  const argv = process.argv.slice(2);
  const ci = argv.indexOf('--child');
  if (ci >= 0) {
    process.stdout.write(`RESULT ${JSON.stringify(runChild(JSON.parse(argv[ci + 1]!) as Child))}\n`);
    return;
  }
  const readme = argv.includes('--readme');
  const quick = argv.includes('--quick');
  if (!hasTorch()) throw new Error(`${TORCH_PY} has no torch (Debian: apt-get install python3-torch libopenblas0-pthread)`);
  const cores = availableParallelism();
  const before = spawnSync('uptime', { encoding: 'utf8' }).stdout.trim();
  const loads = [loadavg()[0]!];
  const log = (s: string) => { process.stderr.write(`${s}\n`); loads.push(loadavg()[0]!); };

  // 1. Epoch time at B = 256.
  const timeRows: string[] = [];
  const best: Record<string, { cl: number; torch: number; clLabel: string; torchLabel: string }> = {};
  for (const dtype of ['f64', 'f32'] as DType[]) {
    const cl = [{ threads: 1, fma: false }, { threads: cores, fma: false }, { threads: cores, fma: true }].map((c) => {
      const r = child<{ epochs: number[]; info: unknown }>({ kind: 'time', dtype, ...c });
      const s = median(r.epochs.slice(1));
      const label = `contrastlab, ${c.threads} thread${c.threads > 1 ? 's' : ''}${c.fma ? ' + FMA' : ''}`;
      log(`${dtype} ${label}: ${r.epochs.map((e) => e.toFixed(2)).join(', ')} s`);
      return { label, s };
    });
    const torch = [1, cores].map((t) => {
      const r = peer(['--method', 'simclr', '--batch', '256', '--epochs', '3', '--dtype', dtype, '--eval', 'none'], t);
      const s = median(r.epochs.slice(1).map((e) => e.seconds));
      const label = `PyTorch, ${t} thread${t > 1 ? 's' : ''}`;
      log(`${dtype} ${label}: ${r.epochs.map((e) => e.seconds.toFixed(2)).join(', ')} s`);
      return { label, s };
    });
    const bc = cl.reduce((a, b) => (b.s < a.s ? b : a));
    const bt = torch.reduce((a, b) => (b.s < a.s ? b : a));
    best[dtype] = { cl: bc.s, torch: bt.s, clLabel: bc.label, torchLabel: bt.label };
    for (const r of [...cl, ...torch]) timeRows.push(`| ${dtype} | ${r.label} | ${r.s.toFixed(2)} s | ${(r.s / bt.s).toFixed(2)} |`);
  }

  // 2. The cells, per seed.
  const cellRows: string[] = [];
  if (!quick) {
    for (const c of CELLS) {
      for (const seed of SEEDS) {
        const ours = child<{ probe?: number; knn?: number; objective?: number; seconds: number }>({ kind: 'cell', preset: c.preset, arm: c.arm, seed });
        const theirs = peer(['--method', c.method, '--batch', String(c.B), '--epochs', String(c.epochs), '--train', String(c.train), '--seed', String(seed), '--dtype', 'f64', '--eval', 'full'], 1);
        log(`${c.arm} seed ${seed}: contrastlab ridge ${f4(ours.probe)} 5-NN ${f4(ours.knn)}; torch ridge ${f4(theirs.ridgeProbeAccuracy)} 5-NN ${f4(theirs.knnAccuracyK5)} logistic ${f4(theirs.probeAccuracy)}`);
        cellRows.push(`| ${c.preset} | ${c.arm}, ${c.epochs} epochs | ${seed} | ${f4(ours.probe)} | ${f4(theirs.ridgeProbeAccuracy)} | ${f4(ours.knn)} | ${f4(theirs.knnAccuracyK5)} | ${f4(theirs.probeAccuracy)} |`);
      }
    }
  }
  const after = spawnSync('uptime', { encoding: 'utf8' }).stdout.trim();
  const md = [
    'The MNIST cells against the PyTorch peer (`benchmarks/mnist.ts`)',
    '',
    `Command: \`npm run bench:mnist -- --readme\`. Date: ${new Date().toISOString()}. Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cores} cores, Node ${process.version}. Load before: \`${before}\`; after: \`${after}\`; 1-minute load sampled between configurations: ${loads.map((l) => l.toFixed(2)).join(', ')}.`,
    '',
    'One training epoch of `mnist-batch-size`\'s "SimCLR B=256" cell (8000 digits, 32 steps: sampling, augmentation, MLP forward and backward, loss, AdamW), the median of epochs 2 and 3. Ratio: against the faster PyTorch configuration of the same precision (contrastlab / torch; below 1 is faster).',
    '',
    '| dtype | configuration | epoch | ratio to the faster torch |',
    '|---|---|---|---|',
    ...timeRows,
    '',
    ...['f64', 'f32'].map((d) => `- ${d}: contrastlab's best (${best[d]!.clLabel}) ${best[d]!.cl.toFixed(2)} s against torch's best (${best[d]!.torchLabel}) ${best[d]!.torch.toFixed(2)} s: ratio **${(best[d]!.cl / best[d]!.torch).toFixed(2)}**.`),
    ...(quick ? [] : [
      '',
      'Accuracy per seed on the 2000 held-out digits, float64 on both sides, the same split; the same architecture, augmentations, loss and optimizer, but each side its own random streams (initialisation, batches, views), so seeds pair up in name only. ridge: ridge regression onto one-hot labels (λ = 1e-3·N, contrastlab\'s probe; the peer computes the same); 5-NN: cosine 5 nearest neighbours; logistic: the peer\'s multinomial logistic regression (L-BFGS), which contrastlab does not compute.',
      '',
      '| preset | cell | seed | ridge, contrastlab | ridge, torch | 5-NN, contrastlab | 5-NN, torch | logistic, torch |',
      '|---|---|---|---|---|---|---|---|',
      ...cellRows,
    ]),
  ].join('\n');
  process.stdout.write(`${md}\n`);
  if (readme) writeReadmeSection('mnist', md.split('\n').slice(2).join('\n'), md.split('\n')[0]);
}

main();
