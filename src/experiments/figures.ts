/**
 * A study's figures: for each FigureSpec, the metric against steps or epochs, one line per arm
 * (mean over seeds) with a min–max band; Gram heat-maps of UVᵀ at the end of the first seed of the
 * arms listed in `gramHeatmaps`. Written as SVG and PNG beside the results.
 */
import { type Matrix64, zeros } from '../core/matrix.ts';
import { heatmap, lineChartWithBands, writeFigure } from '../plot/index.ts';
import type { StudySpec } from './spec.ts';
import type { StudyResult } from './study.ts';
import { summariseTraces } from './summary.ts';

const METRIC_TITLE: Record<string, string> = {
  loss: 'full-batch loss', gradNorm: '‖Riemannian gradient‖', distance: '‖UVᵀ − G*‖_F', gap: 'loss − optimum value', angleError: 'angle error (degrees)',
};

function gram(U: Matrix64, V: Matrix64): Matrix64 {
  const G = zeros(U.rows, V.rows);
  for (let i = 0; i < U.rows; i++) {
    for (let j = 0; j < V.rows; j++) {
      let s = 0;
      for (let k = 0; k < U.cols; k++) s += U.data[i * U.cols + k]! * V.data[j * V.cols + k]!;
      G.data[i * V.rows + j] = s;
    }
  }
  return G;
}

/** Series labels without the words every arm of the figure shares (e.g. 'N=8,d=16 projected OSGD' → 'OSGD'). */
function shortLabels(arms: readonly string[]): Map<string, string> {
  const words = arms.map((a) => a.split(' '));
  let k = 0;
  while (words.every((w) => w.length > k + 1 && w[k] === words[0]![k])) k++;
  return new Map(arms.map((a, i) => [a, words[i]!.slice(k).join(' ')]));
}

const fileName = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '');

/** Renders the study's figures into `out`; returns the file names written. */
export async function makeFigures(study: StudySpec, res: StudyResult, out: string): Promise<string[]> {
  const written: string[] = [];
  for (const f of study.figures ?? []) {
    const records = res.records.filter((r) => !f.arms || f.arms.includes(r.arm));
    const armNames = f.arms ? [...f.arms] : study.experiments.map((e) => e.name);
    const label = shortLabels(armNames);
    const rows = summariseTraces(records, [f.metric])
      .map((s) => ({ arm: label.get(s.arm) ?? s.arm, x: f.x === 'step' ? s.step : s.epoch, mean: s.stats.mean, lo: s.stats.min, hi: s.stats.max }));
    if (rows.length === 0) continue;
    const seeds = Math.max(...(f.arms ?? study.experiments.map((e) => e.name)).map((a) => records.filter((r) => r.arm === a).length));
    const spec = lineChartWithBands({
      title: f.title,
      subtitle: `mean over ${seeds} seed(s); band: min–max`,
      x: { field: 'x', title: f.x === 'step' ? 'update step' : 'epoch' },
      y: { field: 'mean', title: METRIC_TITLE[f.metric] ?? f.metric, scale: f.logY ? 'log' : 'linear' },
      series: 'arm', seriesTitle: 'method', seriesOrder: armNames.map((a) => label.get(a) ?? a),
      rows,
    });
    await writeFigure(out, fileName(f.name), spec, { overwrite: true });
    written.push(`${fileName(f.name)}.svg`, `${fileName(f.name)}.png`);
  }
  for (const arm of study.gramHeatmaps ?? []) {
    const r = res.records.find((x) => x.arm === arm);
    if (!r) continue;
    const name = fileName(`gram-${arm}`);
    await writeFigure(out, name, heatmap({ title: `UVᵀ at the end: ${arm} (seed ${r.seed})`, matrix: gram(r.U, r.V), colorDomain: [-1, 1] }), { overwrite: true });
    written.push(`${name}.svg`, `${name}.png`);
  }
  return written;
}
