/**
 * Approximate-OSGD scoring throughput (THEORY 4; CHO's real-data setting B = 32, k = 1500, q = 150).
 *
 *   node --import tsx benchmarks/osgd.ts            print the table
 *   node --import tsx benchmarks/osgd.ts --readme   also write it into benchmarks/README.md
 *                                                  between <!-- osgd:start --> and <!-- osgd:end -->
 *
 * What is timed: `planApproxOsgd`, i.e. one period of approximate OSGD: a random permutation of N
 * rows, the cut into ⌈N/B⌉ batches, scoring every batch by its two-sided InfoNCE loss at d = 128
 * (gather the B rows of U and V, then `infonceLossAndGrad` without the gradient), and the top-q
 * selection per group of k. Reported: batches scored per second, rows per second (batches · B), the
 * time per period, and the GFLOP/s of the B×B×d product inside each score (2·B²·d flops; the rest
 * of a score, the exps and the gathers, is not counted). Repeats until ~1.5 s per row of the table,
 * after one warm-up period. Never gates anything.
 */
import { cpus, loadavg } from 'node:os';
import { createCpuBackend } from '../src/backend/index.ts';
import type { Backend } from '../src/backend/types.ts';
import { gatherRows, type Matrix, type Matrix64, zeros } from '../src/core/matrix.ts';
import { infonceLossAndGrad } from '../src/objectives/infonce.ts';
import { Rng } from '../src/core/random.ts';
import { normalizeRows } from '../src/core/sphere.ts';
import { approxOsgdStepsPerEpoch, planApproxOsgd } from '../src/samplers/index.ts';
import { writeReadmeSection } from './readme.ts';

const d = 128;
const B = 32;
const k = 1500;
const q = 150;
const tau = 0.1;
const BUDGET_MS = 1500;

function unitRows(rng: Rng, n: number): Matrix64 {
  const m = zeros(n, d);
  rng.fillNormal(m.data);
  return normalizeRows(m);
}

interface Row {
  n: number;
  backend: string;
  batches: number;
  kept: number;
  periods: number;
  msPerPeriod: number;
  batchesPerS: number;
  rowsPerS: number;
  gflops: number;
}

function measure(n: number, backend: Backend, label: string): Row {
  const rng = Rng.fromSeed(`osgd-bench-${n}`);
  const U = unitRows(rng, n);
  const V = unitRows(rng, n);
  const opts = { B, k, q, tau, backend };
  const warm = planApproxOsgd(U, V, { ...opts, rng: rng.split() });
  const nb = warm.batches.length;
  let periods = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < BUDGET_MS || periods < 2) {
    planApproxOsgd(U, V, { ...opts, rng: rng.split() });
    periods++;
    t = performance.now();
  }
  const ms = (t - t0) / periods;
  const batchesPerS = (nb * 1000) / ms;
  return {
    n,
    backend: label,
    batches: nb,
    kept: approxOsgdStepsPerEpoch(n, B, k, q),
    periods,
    msPerPeriod: ms,
    batchesPerS,
    rowsPerS: batchesPerS * B,
    gflops: (batchesPerS * 2 * B * B * d) / 1e9,
  };
}

/** Per-batch cost split at one N (f64): drawing the permutation and cutting, gathering the 2·B rows, the loss on gathered rows. */
function breakdown(n: number, backend: Backend): { perm: number; gather: number; loss: number } {
  const rng = Rng.fromSeed(`osgd-breakdown-${n}`);
  const U = unitRows(rng, n);
  const V = unitRows(rng, n);
  const nb = Math.ceil(n / B);
  const time = (f: () => void): number => {
    f();
    let reps = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 500 || reps < 2) {
      f();
      reps++;
    }
    return ((performance.now() - t0) / reps / nb) * 1000; // µs per batch
  };
  const perm = time(() => {
    const order = rng.permutation(n);
    for (let j = 0; j < nb; j++) order.subarray(j * B, j * B + B).slice();
  });
  const order = rng.permutation(n);
  const batches = Array.from({ length: nb }, (_, j) => order.slice(j * B, Math.min(n, j * B + B)));
  const gather = time(() => {
    for (const b of batches) {
      gatherRows(U, b);
      gatherRows(V, b);
    }
  });
  const gathered: [Matrix, Matrix][] = batches.map((b) => [gatherRows(U, b), gatherRows(V, b)]);
  const loss = time(() => {
    for (const [Ub, Vb] of gathered) infonceLossAndGrad(Ub, Vb, { tau, backend, grad: false });
  });
  return { perm, gather, loss };
}

const fmt = (x: number, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function main(): void {
  const load = loadavg();
  const cores = cpus().length;
  if (load[0]! > cores * 0.5) console.error(`warning: 1-minute load average ${load[0]!.toFixed(2)} on ${cores} cores; timings may be noisy`);
  const backends: [string, Backend][] = [
    ['cpu f64', createCpuBackend({ dtype: 'f64' })],
    ['cpu f32', createCpuBackend({ dtype: 'f32' })],
  ];
  const rows: Row[] = [];
  // N = 20,000: 625 batches, fewer than k, so one partial group keeping ⌈q·625/k⌉ = 63.
  // N = 48,000: exactly one full group of k = 1500 batches keeping q = 150 (CHO's setting).
  for (const n of [20_000, 48_000]) for (const [label, be] of backends) rows.push(measure(n, be, label));
  const split = breakdown(20_000, backends[0]![1]);
  const simd = backends[0]![1].info['simd'];
  const lines = [
    `Approximate OSGD, one period = shuffle + cut into ⌈N/B⌉ batches + score each (two-sided InfoNCE, d = ${d}, B = ${B}, τ = ${tau}) + keep the top q of each group of k (k = ${k}, q = ${q}; a partial group of m keeps ⌈q·m/k⌉).`,
    `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cores} cores, Node ${process.version}, single thread${simd === undefined ? '' : `, wasm SIMD: ${String(simd)}`}; load average before the run ${load.map((x) => x.toFixed(2)).join(' / ')}.`,
    `GFLOP/s counts only the 2·B²·d flops of each batch's B×B logit product. Measured ${new Date().toISOString().slice(0, 10)} with \`node --import tsx benchmarks/osgd.ts\`.`,
    '',
    '| N | backend | batches scored / period | kept (steps) | periods timed | ms / period | batches / s | rows / s | GFLOP/s (logits) |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${fmt(r.n)} | ${r.backend} | ${r.batches} | ${r.kept} | ${r.periods} | ${fmt(r.msPerPeriod, 1)} | ${fmt(r.batchesPerS)} | ${fmt(r.rowsPerS)} | ${fmt(r.gflops, 2)} |`),
    '',
    `Where a score's time goes (N = 20,000, cpu f64, µs per batch): permutation + cut ${fmt(split.perm, 2)}, gathering the B rows of U and V ${fmt(split.gather, 2)}, \`infonceLossAndGrad\` (value only) on the gathered rows ${fmt(split.loss, 2)}.`,
  ];
  const table = lines.join('\n');
  console.log(table);
  for (const [, be] of backends) be.dispose();
  if (process.argv.includes('--readme')) writeReadmeSection('osgd', table, 'Approximate OSGD scoring (`benchmarks/osgd.ts`)');
}

main();
