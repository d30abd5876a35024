/**
 * Device probe: creates the gpujs backend (gpu.js 'headlessgl' by default, or GPUJS_MODE), prints
 * its info as JSON and times pairLse + pairSoftmaxGrad at n = 2048, d = 128 (PROBE_N, PROBE_D,
 * PROBE_REPS override). Bundled by scripts/device/pack.sh into .devbundle/app/probe.mjs.
 */
import { createGpujsBackend, type GpujsMode } from '../../src/backend/gpujs/index.ts';
import { pairInstance } from '../../src/backend/instances.ts';
import { Rng } from '../../src/core/random.ts';

const n = Number(process.env.PROBE_N ?? 2048);
const d = Number(process.env.PROBE_D ?? 128);
const reps = Number(process.env.PROBE_REPS ?? 3);
const mode = (process.env.GPUJS_MODE ?? 'headlessgl') as GpujsMode;

const t0 = performance.now();
const be = createGpujsBackend({ mode });
const tCreate = performance.now() - t0;
console.log(JSON.stringify({ backend: be.name, createMs: +tCreate.toFixed(1), info: be.info }, null, 2));

const inst = pairInstance(Rng.fromSeed(7), 'f32', { n, d, tau: 0.1, exclude: 'none', layout: 'pairs', kind: 'unit', coefMask: 0b111 });
const times: { lseMs: number; gradMs: number }[] = [];
let check = 0;
for (let r = 0; r < reps; r++) {
  const a = performance.now();
  const lse = be.kernels.pairLse(inst.U, inst.V, inst.spec, { row: true, col: true });
  const b = performance.now();
  const g = be.kernels.pairSoftmaxGrad(inst.U, inst.V, inst.spec, { lseRow: lse.lseRow, lseCol: lse.lseCol, ...inst.coef });
  const c = performance.now();
  times.push({ lseMs: +(b - a).toFixed(1), gradMs: +(c - b).toFixed(1) });
  let s = 0;
  for (let i = 0; i < 16; i++) s += lse.lseRow![i]! + g.gradU.data[i]!;
  check = s;
}
console.log(JSON.stringify({ n, d, reps, times, checksum: check, stats: be.stats() }));
be.dispose();
