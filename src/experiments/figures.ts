/**
 * A study's figures: for each FigureSpec, the metric against steps or epochs, one line per arm
 * (mean over seeds) with a min–max band; Gram heat-maps of UVᵀ at the end of the first seed of the
 * arms listed in `gramHeatmaps`. Written as SVG and PNG beside the results.
 */
import { type Matrix64, zeros } from '../core/matrix.ts';
import { heatmap, lineChartWithBands, panelGrid, writeFigure } from '../plot/index.ts';
import type { StudySpec } from './spec.ts';
import type { StudyResult } from './study.ts';
import { summariseTraces } from './summary.ts';
import { METRIC_TITLE, sweepChart, sweepRows } from '../analysis/curves.ts';


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
  const seedCount = (arms: readonly string[]) => Math.max(0, ...arms.map((a) => res.records.filter((r) => r.arm === a).length));
  for (const f of study.figures ?? []) {
    const panels = f.panels ?? [{ title: f.title, arms: f.arms ?? study.experiments.map((e) => e.name) }];
    const charts = [];
    for (const p of panels) {
      const records = res.records.filter((r) => p.arms.includes(r.arm));
      const label = shortLabels(p.arms);
      const rows = summariseTraces(records, [f.metric])
        .map((s) => ({ arm: label.get(s.arm) ?? s.arm, x: f.x === 'step' ? s.step : s.epoch, mean: s.stats.mean, lo: s.stats.min, hi: s.stats.max }));
      if (rows.length === 0) continue;
      charts.push(lineChartWithBands({
        title: p.title,
        subtitle: f.panels ? undefined : `mean over ${seedCount(p.arms)} seed(s); band: min–max`,
        x: { field: 'x', title: f.x === 'step' ? 'update step' : 'epoch' },
        y: { field: 'mean', title: METRIC_TITLE[f.metric] ?? f.metric, scale: f.logY ? 'log' : 'linear' },
        series: 'arm', seriesTitle: 'method', seriesOrder: p.arms.map((a) => label.get(a) ?? a),
        rows, ...(f.panels ? { width: 260, height: 180 } : {}),
      }));
    }
    if (charts.length === 0) continue;
    const spec = f.panels
      ? panelGrid(charts, { title: f.title, subtitle: `mean over ${seedCount(panels.flatMap((p) => p.arms))} seed(s); band: min–max over seeds`, columns: Math.min(3, charts.length), independent: ['x', 'y'] })
      : charts[0]!;
    await writeFigure(out, fileName(f.name), spec, { overwrite: true });
    written.push(`${fileName(f.name)}.svg`, `${fileName(f.name)}.png`);
  }
  const ran = new Set(res.arms.map((a) => a.arm));
  for (const sw0 of study.sweeps ?? []) {
    // Means over seeds with min–max bands (and the reference arm as a flat line), as in the notebooks;
    // only the arms this study ran (a cut-down spec may keep a sweep over arms it dropped).
    const series = Object.fromEntries(Object.entries(sw0.series).map(([k, arms]) => [k, arms.filter((a) => ran.has(a.arm))]).filter(([, arms]) => arms.length > 0));
    const sw = { ...sw0, series, ...(sw0.referenceArm && !ran.has(sw0.referenceArm) ? { referenceArm: undefined } : {}) };
    const only = { ...study, sweeps: [sw] };
    if (Object.keys(series).length === 0 || sweepRows(only, res, sw.name).length === 0) continue;
    const spec = sweepChart(only, res, sw.name);
    await writeFigure(out, fileName(sw.name), spec, { overwrite: true });
    written.push(`${fileName(sw.name)}.svg`, `${fileName(sw.name)}.png`);
  }
  for (const g of study.gramFigures ?? []) {
    const label = shortLabels(g.arms);
    const maps = g.arms.flatMap((arm) => {
      const r = res.records.find((x) => x.arm === arm);
      return r ? [heatmap({ title: `${label.get(arm)} (seed ${r.seed})`, matrix: gram(r.U, r.V), colorDomain: [-1, 1], colorTitle: 'u_i·v_j' })] : [];
    });
    if (maps.length === 0) continue;
    const name = fileName(g.name);
    await writeFigure(out, name, maps.length === 1 ? maps[0]! : panelGrid(maps, { title: g.title, columns: Math.min(3, maps.length) }), { overwrite: true });
    written.push(`${name}.svg`, `${name}.png`);
  }
  return written;
}
