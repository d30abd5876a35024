// The figures of docs/figures at paper sizes, computed as notebooks 01-03 compute them (same data, same titles).
//   npx tsx docs/figures/make-paper-figures.mts OUT full|smoke [cho1 grid sog bias]
// Single charts are one column wide (3.25 in), panel grids the page width (6.75 in); SVG (text outlined) and PNG at 4x.
// OUT/grid gets the cho-grid study figures from makeFigures(..., { size: "page" }); docs/figures/cho-grid-distance.png is OUT/grid/distance-projected-steps.png.
import * as fs from 'node:fs';
import * as cl from '../../src/index.ts';
import { writeFigure, panelGrid, lineChartWithBands, heatmap } from '../../src/plot/index.ts';
import { scatter3dChart } from '../../src/plot/scatter3d.ts';
import { sweepChart, biasCurveChart } from '../../src/analysis/curves.ts';
import { makeFigures } from '../../src/experiments/figures.ts';
const c: any = cl;
const out = process.argv[2]!; const size = process.argv[3] as 'smoke' | 'full';
const only = process.argv.slice(4);
const want = (n: string) => only.length === 0 || only.includes(n);
fs.mkdirSync(out, { recursive: true });
async function show(name: string, spec: any, sz: 'column' | 'page') {
  const f = await writeFigure(out, name, spec, { overwrite: true, size: sz });
  console.log(name, f.width, f.height, f.warnings);
}
if (want('cho1')) {
  const N = 10, B = 2;
  const slice = c.lossAlongRotation({ U: c.regularPolygon(N), row: 0, views: 'both', anglesDeg: { from: -180, to: 180, count: size === 'full' ? 361 : 121 },
    objectives: [{ label: 'full batch', spec: { name: 'infonce', tau: 1 } }, { label: `all ${c.binomial(N, B)} batches`, spec: { name: 'minibatch', tau: 1, batches: { kind: 'all', B } } }] });
  await show('cho-fig1a-rotation', lineChartWithBands({ size: 'column',
    title: `CHO Fig. 1(a): loss along a rotation of (u₁, v₁); N = ${N}, B = ${B}, d = 2, τ = 1`,
    subtitle: 'start: the regular 10-gon with u_i = v_i; each curve minus its value at θ = 0',
    rows: slice, series: 'objective', seriesTitle: 'objective', band: null,
    x: { field: 'angleDeg', title: 'rotation angle θ of (u₁, v₁) (degrees)', domain: [-180, 180] }, y: { field: 'change', title: 'loss(θ) − loss(0)' } }), 'column');
  const ends = c.minimiserEndPoints({ n: 4, d: 3, seed: 0, steps: 5000, arms: [
    { label: 'full batch', spec: { name: 'infonce', tau: 1 } },
    { label: 'all C(4,2) batches', spec: { name: 'minibatch', tau: 1, batches: { kind: 'all', B: 2 } } },
    { label: 'fixed partition {0,1}, {2,3}', spec: { name: 'minibatch', tau: 1, batches: { kind: 'list', batches: [[0, 1], [2, 3]] } } }] });
  await show('cho-fig1b-gram', panelGrid(ends.map((e: any) => heatmap({ title: e.label, matrix: e.gram, colorDomain: [-1, 1], colorTitle: 'u_i·v_j', rowTitle: 'i', colTitle: 'j', size: 'page' })),
    { title: 'CHO Fig. 1(b): U Vᵀ at the end points (N = 4, d = 3, τ = 1)', size: 'page' }), 'page');
  await show('cho-fig1b-scatter3d', panelGrid(ends.map((e: any) => scatter3dChart({ title: e.label, points: e.U, labels: ['0', '1', '2', '3'], width: 220 })),
    { title: 'CHO Fig. 1(b): the end points u_i on the unit sphere (v_i = u_i at all three)', size: 'page' }), 'page');
}
if (want('grid')) {
  const base = c.findPreset('cho-grid')!.build(size);
  const study = { ...base, figures: (base.figures ?? []).map((f: any) => ({ ...f, name: `${f.name}-steps`, x: 'step', title: f.title.replace('against epochs', 'against update steps') })) };
  const resume = process.env.RESUME === '1'; // RESUME=1: reuse a finished run in OUT/run-grid
  const res = c.runStudy(study, { out: `${out}/run-grid`, ...(resume ? { resume: true } : { force: true }), backend: c.createCpuBackend({ dtype: 'f64' }) });
  fs.mkdirSync(`${out}/grid`, { recursive: true }); const files = await makeFigures(study, res, `${out}/grid`, { size: 'page' });
  console.log(files);
}
if (want('sog')) {
  const study = c.findPreset('sogclr-small-batch')!.build(size);
  const res = c.runStudy(study, { out: `${out}/run-sog`, force: true, backend: c.createCpuBackend({ dtype: 'f64' }) });
  await show('sog-gap-vs-B', sweepChart(study, res, 'final-gap-vs-B', { size: 'column', referenceArm: 'full-batch GD', subtitle: ['full-batch GD: the same epoch budget (one step per epoch)'] }), 'column');
  await show('sog-probe-vs-B', sweepChart(study, res, 'probe-vs-B', { size: 'column', referenceLabel: 'full-batch GD', subtitle: ['full-batch GD: the long run that defines F*'] }), 'column');
}
if (want('bias')) {
  const draws = size === 'full' ? 8000 : 2000;
  const reports = (['bimodal', 'unimodal'] as const).map((modality) => c.estimatorBias({ modality, n: 256, d: 32, tau: 0.1, batchSizes: [4, 8, 16, 32, 64], draws, seed: 0 }));
  await show('sog-bias-vs-B', panelGrid(reports.map((r: any) => biasCurveChart(r, { title: `${r.modality} GCL` })), { title: 'Gradient-estimator bias against B (fixed parameters)', size: 'page' }), 'page');
}
