/**
 * Curves against a swept parameter, as rows and ready-made figures (the notebooks only plot them):
 *
 * - `sweepRows` / `sweepChart`: a study's final metric against the swept x of one of its `sweeps`
 *   (e.g. the final exact F gap against the batch size B), one line per series through the means
 *   over seeds with a min–max band, and a reference arm (e.g. full-batch GD) drawn as a flat line.
 * - `biasCurveRows` / `biasCurveChart`: the `estimatorBias` report as the bias of the plug-in and
 *   the exact-u SogCLR estimators against B, with bands of ± z standard errors of the squared bias.
 *
 * @example
 *   const res = runStudy(study, { out, backend, force: true });
 *   const spec = sweepChart(study, res, 'final-gap-vs-B', { referenceArm: 'full-batch GD' });
 */
import { ConfigError, DomainError } from '../core/errors.ts';
import type { StudySpec } from '../experiments/spec.ts';
import type { StudyResult } from '../experiments/study.ts';
import { lineChartWithBands } from '../plot/charts.ts';
import type { VegaLiteSpec } from '../plot/spec.ts';
import type { FigureSize } from '../plot/charts.ts';
import type { BiasReport } from './bias.ts';

/**
 * The line's value over seeds: the arithmetic mean on a linear y axis; on a log y axis the
 * geometric mean (the mean of the logs, what the eye averages on that axis), or the median when a
 * seed's value is <= 0 (no logarithm) or the per-seed values are not in the result.
 */
export type SweepCentre = 'mean' | 'geometric mean' | 'median';

export type SweepRow = {
  readonly series: string;
  readonly x: number;
  /**
   * The line's value (see `centre`: the arithmetic mean over seeds unless `log`), sd, min and max
   * of the arm's final metric over its seeds, and the seed count.
   */
  readonly mean: number;
  readonly centre: SweepCentre;
  readonly sd: number;
  readonly lo: number;
  readonly hi: number;
  readonly seeds: number;
  readonly arm: string;
};

export interface SweepOptions {
  /** Centre the line on a log y axis: the geometric mean (or the median, see SweepCentre). Default: the sweep's logY. */
  readonly log?: boolean;
  /** The arm drawn as a flat reference line at every x (default: the sweep's own referenceArm, if any). */
  readonly referenceArm?: string;
  /** Series name of the reference line (default: the arm's name). */
  readonly referenceLabel?: string;
}

/** One row per (series, x) of the named sweep, plus the reference arm at every x (see the module comment). */
export function sweepRows(study: StudySpec, result: StudyResult, sweepName: string, o: SweepOptions = {}): SweepRow[] {
  const op = 'sweepRows';
  const sw = (study.sweeps ?? []).find((s) => s.name === sweepName);
  if (!sw) throw new ConfigError(op, `study '${study.name}' has no sweep '${sweepName}'; it has ${(study.sweeps ?? []).map((s) => `'${s.name}'`).join(', ') || 'none'}`);
  const byArm = new Map(result.arms.map((a) => [a.arm, a]));
  const log = o.log ?? sw.logY === true;
  const rowOf = (series: string, x: number, arm: string): SweepRow | null => {
    const a = byArm.get(arm);
    if (!a) throw new ConfigError(op, `arm '${arm}' of sweep '${sweepName}' is not in the study result`);
    const s = a.final[sw.metric];
    if (!s || s.count === 0) return null;
    let mean = s.mean;
    let centre: SweepCentre = 'mean';
    if (log) {
      const values = result.records.filter((r) => r.arm === arm).map((r) => r.final[sw.metric]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      const c = logCentre(values);
      if (values.length === s.count && c !== null) ({ value: mean, centre } = c);
    }
    return { series, x, mean, centre, sd: s.sd, lo: s.min, hi: s.max, seeds: s.count, arm };
  };
  const rows: SweepRow[] = [];
  for (const [series, arms] of Object.entries(sw.series)) {
    for (const a of arms) {
      const r = rowOf(series, a.x, a.arm);
      if (r) rows.push(r);
    }
  }
  const ref = o.referenceArm ?? sw.referenceArm;
  if (ref !== undefined) {
    const xs = [...new Set(Object.values(sw.series).flat().map((a) => a.x))].sort((p, q) => p - q);
    for (const x of xs) {
      const r = rowOf(o.referenceLabel ?? ref, x, ref);
      if (r) rows.push(r);
    }
  }
  if (rows.length === 0) throw new ConfigError(op, `sweep '${sweepName}': no arm has a final '${sw.metric}'`);
  return rows;
}

/**
 * The centre of per-seed values for a log axis: the geometric mean when all are > 0, else the median
 * (null when there are none).
 */
export function logCentre(values: readonly number[]): { value: number; centre: 'geometric mean' | 'median' } | null {
  if (values.length === 0) return null;
  if (values.every((v) => v > 0)) {
    return { value: Math.exp(values.reduce((s, v) => s + Math.log(v), 0) / values.length), centre: 'geometric mean' };
  }
  const v = [...values].sort((a, b) => a - b);
  const m = v.length >> 1;
  return { value: v.length % 2 === 1 ? v[m]! : (v[m - 1]! + v[m]!) / 2, centre: 'median' };
}

/** The subtitle line saying what the lines of a chart are (e.g. 'line: geometric mean over 5 seeds'). */
export function centreNote(centres: readonly SweepCentre[], seeds: number): string {
  const kinds = [...new Set(centres)];
  const what = kinds.length === 1 ? kinds[0]! : kinds.includes('median') && kinds.includes('geometric mean') && !kinds.includes('mean')
    ? 'geometric mean (median where a seed is ≤ 0)' : kinds.join(' / ');
  return `line: ${what} over ${seeds} seed${seeds === 1 ? '' : 's'}; band: min–max over seeds`;
}

/** Axis titles of the logged metrics (figures of runs, sweeps and notebooks). */
export const METRIC_TITLE: Readonly<Record<string, string>> = {
  loss: 'full-batch loss', gradNorm: '‖Riemannian gradient‖', distance: '‖UVᵀ − G*‖_F', gap: 'loss − optimum value', angleError: 'angle error (degrees)',
  objective: 'exact F', objectiveGradNorm: '‖∇F‖ (exact)', objectiveGap: 'F − F* (reference arm)', batchValue: 'mini-batch estimate of F',
  knn: 'k-NN accuracy', probe: 'linear-probe accuracy', retrieval: 'two-view R@1',
};

/** The sweep as a line chart: means over seeds with min–max bands, points at each x. */
export function sweepChart(
  study: StudySpec, result: StudyResult, sweepName: string,
  o: SweepOptions & { readonly title?: string; readonly subtitle?: string | readonly string[]; readonly size?: FigureSize } = {},
): VegaLiteSpec {
  const sw = (study.sweeps ?? []).find((s) => s.name === sweepName)!;
  const rows = sweepRows(study, result, sweepName, o);
  const seeds = Math.max(...rows.map((r) => r.seeds));
  const order = [...new Set(rows.map((r) => r.series))];
  // The first subtitle line always says what the line is (a caller's subtitle follows it).
  const user = o.subtitle === undefined ? [] : typeof o.subtitle === 'string' ? [o.subtitle] : [...o.subtitle];
  return lineChartWithBands({
    title: o.title ?? sw.title,
    subtitle: [centreNote(rows.map((r) => r.centre), seeds), ...user],
    rows, series: 'series', seriesTitle: 'method', seriesOrder: order, points: true,
    ...(o.size !== undefined ? { size: o.size } : {}),
    // Ticks only at the swept values (B = 8, 32, …).
    x: { field: 'x', title: sw.xTitle, scale: sw.logX ? 'log2' : 'linear', ticks: 'data' },
    y: { field: 'mean', title: METRIC_TITLE[sw.metric] ?? sw.metric, scale: sw.logY ? 'log' : 'linear' },
  });
}

export type BiasCurveRow = {
  readonly B: number;
  readonly estimator: string;
  /** Noise-corrected bias ‖E[m] − ∇F‖ (√max(D̂, 0)) and its standard error, as in the report. */
  readonly bias: number;
  readonly se: number;
  /**
   * Band from D̂ ± z·se(D̂) on the squared scale: lo = √max(D̂ − z·se, 0), hi = √(max(D̂, 0) + z·se).
   * (The delta-method SE understates the spread when D̂ is near 0; this band does not.)
   */
  readonly lo: number;
  readonly hi: number;
  /** |D̂| ≤ z·se(D̂): no bias resolved at this B. */
  readonly withinNoise: boolean;
  /** Bias relative to ‖∇F‖. */
  readonly relative: number;
};

/** Series names: the plug-in estimator (u = the in-batch ĝ) and SogCLR with u at the exact g. */
export const BIAS_ESTIMATOR_LABELS = { plugin: 'plug-in (u = ĝ)', sogclr: 'SogCLR (u = g)' } as const;

/** The report's rows for a plot: one per (B, estimator), with a band of z standard errors of D̂ (default z = 2). */
export function biasCurveRows(report: BiasReport, z = 2): BiasCurveRow[] {
  if (!(Number.isFinite(z) && z >= 0)) throw new DomainError('biasCurveRows', `z must be finite and >= 0, got ${z}`);
  return report.rows.flatMap((r) => (['plugin', 'sogclr'] as const).map((k) => {
    const e = r[k];
    const D = e.biasSq;
    const s = z * e.biasSqSE;
    return {
      B: r.B, estimator: BIAS_ESTIMATOR_LABELS[k], bias: e.bias, se: e.biasSE,
      lo: Math.sqrt(Math.max(D - s, 0)), hi: Math.sqrt(Math.max(D, 0) + s), withinNoise: Math.abs(D) <= s, relative: e.bias / report.gradNorm,
    };
  }));
}

/** Bias against B (log₂ x, linear y so a zero bias is in view), bands of z SE of D̂, the power-law slope in the subtitle. */
export function biasCurveChart(report: BiasReport, o: { readonly z?: number; readonly title?: string; readonly size?: FigureSize } = {}): VegaLiteSpec {
  const z = o.z ?? 2;
  const fit = report.fit === null ? 'no power law fitted'
    : `plug-in ∝ B^${report.fit.slope.toFixed(2)}${report.fit.slopeSE === null ? '' : ` ± ${report.fit.slopeSE.toFixed(2)}`}`;
  return lineChartWithBands({
    title: o.title ?? `Gradient-estimator bias against B (${report.modality} GCL)`,
    subtitle: [
      `N = ${report.n}, d = ${report.d}, τ = ${report.tau}, ε₀ = ${report.eps0}, ${report.draws} draws per B`,
      `band: D̂ ± ${z} SE (√); ${fit}`,
    ],
    rows: biasCurveRows(report, z), series: 'estimator', seriesTitle: 'estimator', seriesOrder: Object.values(BIAS_ESTIMATOR_LABELS), points: true,
    ...(o.size !== undefined ? { size: o.size } : {}),
    x: { field: 'B', title: 'batch size B', scale: 'log2', ticks: 'data' },
    y: { field: 'bias', title: '‖E[m] − ∇F‖' },
  });
}
