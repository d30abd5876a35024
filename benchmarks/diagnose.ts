/**
 * `diagnose` on a researcher-sized input: clustered float32 embeddings (k = 20 centres, noise, rows
 * normalised) with labels, N x d, three batch sizes, the CLI's defaults (threads = the cores, the
 * draw budget, spectral batches up to B = 1024). Where the time goes: the wall time of each phase
 * as the calling thread sees it (the passes run on the workers meanwhile; 'waiting for …' is the time
 * it waits for them), and peak RSS.
 *
 *   node --import tsx benchmarks/diagnose.ts              N = 5000, 10000, 20000 at d = 256; README section
 *   node --import tsx benchmarks/diagnose.ts --quick      N = 2000, d = 64, stdout only
 *
 * Each size runs in its own child process (so peak RSS is that size's).
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { diagnose, diagnoseDefaultThreads } from '../src/analysis/diagnose.ts';
import { matrix } from '../src/core/matrix.ts';
import { Rng } from '../src/core/random.ts';
import { writeReadmeSection } from './readme.ts';

interface Result { n: number; d: number; B: number[]; threads: number; seconds: number; phases: Record<string, number>; rssMiB: number; draws: number[]; spectral: boolean[] }

async function one(n: number, d: number, B: number[]): Promise<Result> {
  const rng = Rng.fromSeed(`bench-diagnose:${n}:${d}`);
  const k = 20;
  const C = rng.fillNormalMatrix(k, d);
  const U = new Float32Array(n * d);
  const V = new Float32Array(n * d);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = rng.int(k);
    for (const X of [U, V]) {
      let s = 0;
      for (let c = 0; c < d; c++) {
        const x = 0.5 * C.data[labels[i]! * d + c]! + rng.normal() / Math.sqrt(d) * 2;
        X[i * d + c] = x;
        s += x * x;
      }
      for (let c = 0; c < d; c++) X[i * d + c] = X[i * d + c]! / Math.sqrt(s);
    }
  }
  const threads = diagnoseDefaultThreads();
  const phases: Record<string, number> = {};
  let phase = '';
  let t = performance.now();
  const t0 = t;
  const r = await diagnose(matrix(U, n, d), matrix(V, n, d), {
    tau: 0.1, batchSizes: B, labels, dtype: 'f32', threads,
    onProgress: (_done, _total, what) => {
      // A pass finishing on a worker is not a phase of the calling thread.
      if (/^(lse|grad)-/.test(what)) return;
      const p = what.replace(/[,(].*$/, '').trim();
      if (p === phase) return;
      const now = performance.now();
      if (phase) phases[phase] = (phases[phase] ?? 0) + (now - t) / 1000;
      phase = p;
      t = now;
    },
  });
  const end = performance.now();
  if (phase) phases[phase] = (phases[phase] ?? 0) + (end - t) / 1000;
  return {
    n, d, B, threads, seconds: (end - t0) / 1000, phases, rssMiB: process.resourceUsage().maxRSS / 1024,
    draws: r.batchSizes.map((b) => b.bias.draws), spectral: r.batchSizes.map((b) => b.hardness.spectral !== null),
  };
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  const [n, d] = [Number(argv[1]), Number(argv[2])];
  const B = argv[3]!.split(',').map(Number);
  process.stdout.write(JSON.stringify(await one(n, d, B)) + '\n');
} else {
  const quick = argv.includes('--quick');
  const sizes: Array<[number, number, number[]]> = quick ? [[2000, 64, [32, 256, 1024]]] : [[5000, 256, [32, 256, 4096]], [10000, 256, [32, 256, 4096]], [20000, 256, [32, 256, 4096]]];
  const before = loadavg();
  const rows: Result[] = [];
  for (const [n, d, B] of sizes) {
    const c = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', String(n), String(d), B.join(',')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
    if (c.status !== 0) throw new Error(`child N = ${n} failed with ${c.status}`);
    const r = JSON.parse(c.stdout.trim().split('\n').pop()!) as Result;
    rows.push(r);
    console.log(JSON.stringify(r));
  }
  const after = loadavg();
  const names = [...new Set(rows.flatMap((r) => Object.keys(r.phases)))];
  const md = [
    '## `diagnose` on clustered float32 embeddings (`benchmarks/diagnose.ts`)',
    '',
    `Command: \`node --import tsx benchmarks/diagnose.ts\`. Date: ${new Date().toISOString()}. ${availableParallelism()} cores, Node ${process.version}; load average before ${before.map((x) => x.toFixed(2)).join(', ')}, after ${after.map((x) => x.toFixed(2)).join(', ')}.`,
    '',
    'Clustered unit rows (20 centres) with labels, τ = 0.1, float32 kernels (the files are float32), the CLI defaults: the objective passes on',
    `${rows[0]!.threads} worker threads, the draw budget of the bias section, spectral batches up to B = 1024. Phases are the calling thread's wall time: it`,
    'samples (batch hardness, estimator bias) while the workers run the log-sum-exp and gradient passes, and "waiting for" columns are the time it waits for',
    'them. Peak RSS is the process\'s (workers included); the bias section\'s group sums (2 estimators x K groups x 2·N·d float64, K ≤ 20, capped at 1 GiB) dominate it.',
    '',
    `| N | d | B | total s | ${names.join(' s | ')} s | draws per B | peak RSS MiB |`,
    `|---|---|---|---|${names.map(() => '---').join('|')}|---|---|`,
    ...rows.map((r) => `| ${r.n} | ${r.d} | ${r.B.join(', ')} | **${r.seconds.toFixed(1)}** | ${names.map((p) => (r.phases[p] ?? 0).toFixed(1)).join(' | ')} | ${r.draws.join(', ')} | ${r.rssMiB.toFixed(0)} |`),
  ].join('\n');
  console.log(md);
  if (!quick && !argv.includes('--no-readme')) writeReadmeSection('diagnose', md);
}
