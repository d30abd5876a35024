/**
 * SogCLR step time against N through the training loop itself (`train`, src/experiments/train.ts):
 * the same setting as benchmarks/sogclrStep.ts (bimodal SogCLR, τ = 0.1, γ = 0.9, free projected
 * embeddings, B = 256, d = 128, plain SGD lr 0.1, reshuffled batches, float64), but every step goes
 * through `train` with everything it does per step: the step generator, the sampler (its O(N)
 * permutation once per epoch included), the model's forward, the estimator (state in place), the
 * row-sparse backward and SGD update, the finiteness check of the touched rows, the optimizer count.
 * Step times are read from the loop's own log points (`logEvery` 50, metric batchValue only, so a log
 * point costs O(1)): the time from step 100 to step 400, per step. Set-up (the N x d embeddings) is
 * not included. Each N runs in its own process.
 *
 *   node --import tsx benchmarks/trainStep.ts            print the table
 *   node --import tsx benchmarks/trainStep.ts --readme   also write it into benchmarks/README.md (section train-step)
 */
import { execFileSync, execSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createCpuBackend } from '../src/backend/index.ts';
import { train } from '../src/experiments/train.ts';
import type { ExperimentSpec } from '../src/experiments/types.ts';
import { writeReadmeSection } from './readme.ts';

const NS = [10_000, 100_000, 1_000_000];
const FROM = 100;
const TO = 400;

function child(n: number): void {
  const spec: ExperimentSpec = {
    name: `sogclr N=${n}`, data: { kind: 'random-sphere', n, d: 128 }, model: { kind: 'free' }, objective: { tau: 0.1 },
    sampler: { kind: 'reshuffle', B: 256 }, estimator: { kind: 'sogclr', modality: 'bimodal', tau: 0.1, gamma: 0.9, eps0: 0 },
    optimizer: { kind: 'sgd', lr: 0.1 }, budget: { steps: TO }, seeds: [0], logEvery: 50, metrics: ['batchValue'],
  };
  const at = new Map<number, number>();
  const backend = createCpuBackend({ dtype: 'f64', threads: 1 });
  train(spec, 0, { backend, onLog: (row) => { at.set(row.step, performance.now()); } });
  const ms = (at.get(TO)! - at.get(FROM)!) / (TO - FROM);
  process.stdout.write(`${JSON.stringify({ n, stepMs: ms })}\n`);
}

function parent(readme: boolean): void {
  const before = execSync('uptime').toString().trim();
  const self = fileURLToPath(import.meta.url);
  const rows: { n: number; stepMs: number }[] = [];
  const loads = [loadavg()[0]!];
  for (const n of NS) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--child', String(n)], { encoding: 'utf8', maxBuffer: 1 << 20 });
    rows.push(JSON.parse(out.trim().split('\n').pop()!));
    loads.push(loadavg()[0]!);
    console.error(`N = ${n}: ${rows[rows.length - 1]!.stepMs.toFixed(2)} ms per step`);
  }
  const after = execSync('uptime').toString().trim();
  const spread = Math.max(...rows.map((r) => r.stepMs)) / Math.min(...rows.map((r) => r.stepMs)) - 1;
  const lines = [
    '## SogCLR step time against N through `train` (`benchmarks/trainStep.ts`)',
    '',
    `Command: \`node --import tsx benchmarks/trainStep.ts --readme\`. Date: ${new Date().toISOString()}.`,
    `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, one thread. Load before: \`${before}\`; after: \`${after}\`; 1-minute load sampled between N: ${loads.map((l) => l.toFixed(2)).join(', ')}.`,
    '',
    'Bimodal SogCLR (τ = 0.1, γ = 0.9), free projected embeddings, B = 256, d = 128, plain SGD (the row-sparse O(B) path), reshuffled batches, float64;',
    `the time per step of \`train\` between its log points at steps ${FROM} and ${TO} (everything the loop does per step; set-up excluded).`,
    '',
    '| N | ms per step | relative to N = 10,000 |',
    '|---:|---:|---:|',
    ...rows.map((r) => `| ${r.n.toLocaleString('en-US')} | **${r.stepMs.toFixed(2)}** | ${(r.stepMs / rows[0]!.stepMs).toFixed(2)} |`),
    '',
    `Spread (max/min − 1): ${(100 * spread).toFixed(1)}% (target: flat within 20%).`,
  ];
  console.log(lines.join('\n'));
  if (readme) writeReadmeSection('train-step', lines.join('\n'));
}

const args = process.argv.slice(2);
if (args[0] === '--child') child(Number(args[1]));
else parent(args.includes('--readme'));
