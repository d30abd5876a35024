/**
 * A study's figures: for each FigureSpec, the metric against steps or epochs, one line per arm
 * (mean over seeds; on a log y axis the geometric mean, or the median at steps where a seed is
 * <= 0, as the subtitle says) with a min–max band; panels of one figure share their x and y axes;
 * Gram heat-maps of UVᵀ at the end of the first seed of the arms listed in `gramHeatmaps`. Written
 * as SVG and PNG beside the results (from what summariseStudyDir computed, arm by arm, from the run files), at a paper size when `size` is given (see plot/charts.ts).
 */
import { type FigureSize, heatmap, lineChartWithBands, panelGrid, writeFigure } from '../plot/index.ts';
import type { StudySpec } from './spec.ts';
import type { StudyResult } from './study.ts';
import { METRIC_TITLE, centreNote, sweepChart, sweepRows } from '../analysis/curves.ts';
import type { MetricName } from './spec.ts';
import { centreKey, collectGarbage } from './summary.ts';

// Computed arm by arm from the run files (study.ts summariseStudyDir); here for the library's users.
export { centreKey, gram, traceCentres, type TraceCentreRow } from './summary.ts';


/** Series labels without the words every arm of the figure shares (e.g. 'N=8,d=16 projected OSGD' → 'OSGD'). */
function shortLabels(arms: readonly string[]): Map<string, string> {
  const words = arms.map((a) => a.split(' '));
  let k = 0;
  while (words.every((w) => w.length > k + 1 && w[k] === words[0]![k])) k++;
  return new Map(arms.map((a, i) => [a, words[i]!.slice(k).join(' ')]));
}

/**
 * One range for all panels when it costs no panel more than half its resolution: the shared span
 * (in decades on a log axis) is at most twice every panel's own span. Else undefined.
 */
export function sharedRange(panels: readonly (readonly number[])[], log: boolean): readonly [number, number] | undefined {
  const t = (v: number) => (log ? Math.log10(v) : v);
  const spans = panels.filter((v) => v.length > 0).map((v) => [Math.min(...v), Math.max(...v)] as const);
  if (spans.length === 0) return undefined;
  const lo = Math.min(...spans.map((s) => s[0]));
  const hi = Math.max(...spans.map((s) => s[1]));
  if (!(lo < hi)) return undefined;
  const whole = t(hi) - t(lo);
  return spans.every(([a, b]) => 2 * (t(b) - t(a)) >= whole) ? [lo, hi] : undefined;
}

/**
 * At most this many points per line are drawn: a panel is 260 px wide (a paper figure narrower), so
 * more points than pixels change nothing visible but the drawing's memory and time. The traces keep
 * every logged row (trace.csv); the figures thin each line to MAX_POINTS buckets of consecutive
 * logged steps, drawing each bucket at its last step with the band widened to the bucket's min and
 * max (so no excursion of the band is hidden), and always keep the first point.
 */
export const MAX_POINTS = 300;

interface LineRow { readonly arm: string; readonly x: number; readonly mean: number; readonly lo: number; readonly hi: number }

/** `rows` (grouped by arm, each arm's rows in step order) with every arm thinned to at most `max` points (see MAX_POINTS). */
export function thinLines<R extends LineRow>(rows: readonly R[], max = MAX_POINTS): R[] {
  const out: R[] = [];
  for (let a = 0; a < rows.length;) {
    let b = a;
    while (b < rows.length && rows[b]!.arm === rows[a]!.arm) b++;
    const n = b - a;
    if (n <= max) for (let i = a; i < b; i++) out.push(rows[i]!);
    else {
      out.push(rows[a]!);
      for (let k = 0; k < max - 1; k++) {
        const i0 = a + 1 + Math.floor((k * (n - 1)) / (max - 1));
        const i1 = a + 1 + Math.floor(((k + 1) * (n - 1)) / (max - 1));
        let lo = Infinity;
        let hi = -Infinity;
        for (let i = i0; i < i1; i++) {
          lo = Math.min(lo, rows[i]!.lo);
          hi = Math.max(hi, rows[i]!.hi);
        }
        if (i1 > i0) out.push({ ...rows[i1 - 1]!, lo, hi });
      }
    }
    a = b;
  }
  return out;
}

const fileName = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '');

export interface MakeFiguresOptions {
  /** Paper size of every figure (one column, 3.25 in, or the page, 6.75 in); default: the screen sizes. */
  readonly size?: FigureSize;
}

/** Renders the study's figures into `out`; returns the file names written. */
export async function makeFigures(study: StudySpec, res: StudyResult, out: string, o: MakeFiguresOptions = {}): Promise<string[]> {
  const written: string[] = [];
  const size = o.size;
  const sized = size === undefined ? {} : { size };
  const seedCount = (arms: readonly string[]) => Math.max(0, ...arms.map((a) => res.records.filter((r) => r.arm === a).length));
  for (const f of study.figures ?? []) {
    const panels = f.panels ?? [{ title: f.title, arms: f.arms ?? study.experiments.map((e) => e.name) }];
    const log = f.logY === true;
    const perPanel = panels.map((p) => {
      const label = shortLabels(p.arms);
      // The lines of the panel's arms in the study's order (as the runs are), computed from the run files (study.ts).
      const rows = study.experiments.filter((e) => p.arms.includes(e.name)).flatMap((e) => res.centres.get(centreKey(e.name, f.metric, log)) ?? [])
        .map((s) => ({ arm: label.get(s.arm) ?? s.arm, x: f.x === 'step' ? s.step : s.epoch, mean: s.mean, lo: s.lo, hi: s.hi, centre: s.centre, seeds: s.seeds }));
      return { p, label, rows: thinLines(rows), all: rows };
    }).filter((q) => q.rows.length > 0);
    if (perPanel.length === 0) continue;
    const allRows = perPanel.flatMap((q) => q.all);
    const note = centreNote(allRows.map((r) => r.centre), seedCount(perPanel.flatMap((q) => q.p.arms)));
    // Panels share the metric: one x and one y range (and so the same ticks) in every panel, unless
    // that would squash some panels (see sharedRange); the subtitle then says the ranges differ.
    const yOf = (rows: readonly { mean: number; lo: number; hi: number }[]) => rows.flatMap((r) => [r.mean, r.lo, r.hi]).filter((v) => Number.isFinite(v) && (!log || v > 0));
    const yDomain = f.panels ? sharedRange(perPanel.map((q) => yOf(q.rows)), log) : undefined;
    const xShared = f.panels ? sharedRange(perPanel.map((q) => q.rows.map((r) => r.x)), false) !== undefined : true;
    const differ = [...(f.panels && yDomain === undefined ? ['y'] : []), ...(xShared ? [] : ['x'])];
    const charts = perPanel.map(({ p, label, rows }) => lineChartWithBands({
      title: p.title,
      subtitle: f.panels ? undefined : note,
      x: { field: 'x', title: f.x === 'step' ? 'update step' : 'epoch' },
      y: { field: 'mean', title: METRIC_TITLE[f.metric] ?? f.metric, scale: log ? 'log' : 'linear', ...(yDomain ? { domain: yDomain } : {}) },
      series: 'arm', seriesTitle: 'method', seriesOrder: p.arms.map((a) => label.get(a) ?? a),
      rows, ...(f.panels ? { width: 260, height: 180 } : sized),
    }));
    const spec = f.panels
      ? panelGrid(charts, {
        title: f.title, subtitle: differ.length === 0 ? note : [note, `${differ.join(' and ')} range${differ.length > 1 ? 's' : ''} set per panel (one shared range would flatten some panels)`],
        columns: Math.min(size === undefined ? 3 : 2, charts.length), independent: differ as ('x' | 'y')[], ...sized,
      })
      : charts[0]!;
    await writeFigure(out, fileName(f.name), spec, { overwrite: true, ...sized });
    collectGarbage(); // Vega's and resvg's garbage of this figure, before the next
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
    const spec = sweepChart(only, res, sw.name, sized);
    await writeFigure(out, fileName(sw.name), spec, { overwrite: true, ...sized });
    collectGarbage(); // Vega's and resvg's garbage of this figure, before the next
    written.push(`${fileName(sw.name)}.svg`, `${fileName(sw.name)}.png`);
  }
  for (const g of study.gramFigures ?? []) {
    const label = shortLabels(g.arms);
    const maps = g.arms.flatMap((arm) => {
      const r = res.grams.get(arm);
      return r ? [heatmap({ title: `${label.get(arm)} (seed ${r.seed})`, matrix: r.gram, colorDomain: [-1, 1], colorTitle: 'u_i·v_j', ...sized })] : [];
    });
    if (maps.length === 0) continue;
    const name = fileName(g.name);
    await writeFigure(out, name, maps.length === 1 ? maps[0]! : panelGrid(maps, { title: g.title, columns: Math.min(3, maps.length), ...sized }), { overwrite: true, ...sized });
    collectGarbage(); // Vega's and resvg's garbage of this figure, before the next
    written.push(`${name}.svg`, `${name}.png`);
  }
  return written;
}
