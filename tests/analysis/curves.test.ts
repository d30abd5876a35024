/**
 * Curves against a swept parameter: sweepRows takes the per-arm final statistics of the named sweep
 * (and a reference arm at every x); biasCurveRows turns an estimatorBias report into bands; both
 * charts render.
 */
import { describe, expect, it } from 'vitest';
import { estimatorBias } from '../../src/analysis/bias.ts';
import { BIAS_ESTIMATOR_LABELS, biasCurveChart, biasCurveRows, sweepChart, sweepRows } from '../../src/analysis/curves.ts';
import { ConfigError, DomainError } from '../../src/core/errors.ts';
import type { StudySpec } from '../../src/experiments/spec.ts';
import type { StudyResult } from '../../src/experiments/study.ts';
import { stats } from '../../src/experiments/summary.ts';
import { renderVegaLite } from '../../src/plot/index.ts';

const study = {
  name: 'toy', description: '', experiments: [],
  sweeps: [{
    name: 'gap-vs-B', title: 'gap against B', metric: 'objectiveGap', xTitle: 'B', logX: true, logY: true,
    series: { A: [{ arm: 'A B=8', x: 8 }, { arm: 'A B=32', x: 32 }], C: [{ arm: 'C B=8', x: 8 }, { arm: 'C B=32', x: 32 }] },
  }],
} as unknown as StudySpec;

const arm = (name: string, values: number[]) => ({ arm: name, configHash: '', thresholds: [], final: { objectiveGap: stats(values) } });
const result = {
  records: [], finalJson: {},
  arms: [arm('A B=8', [0.04, 0.06]), arm('A B=32', [0.02, 0.03]), arm('C B=8', [0.01, 0.02]), arm('C B=32', [0.01, 0.01]), arm('GD', [0.5, 0.7])],
} as unknown as StudyResult;

describe('sweepRows / sweepChart', { timeout: 60_000 }, () => {
  it('gives one row per (series, x) with the mean and min–max over seeds', () => {
    const rows = sweepRows(study, result, 'gap-vs-B');
    expect(rows.map((r) => [r.series, r.x])).toEqual([['A', 8], ['A', 32], ['C', 8], ['C', 32]]);
    expect(rows[0]).toMatchObject({ mean: 0.05, lo: 0.04, hi: 0.06, seeds: 2, arm: 'A B=8' });
  });

  it('adds the reference arm as a flat line at every x', () => {
    const rows = sweepRows(study, result, 'gap-vs-B', { referenceArm: 'GD', referenceLabel: 'full-batch GD' });
    const ref = rows.filter((r) => r.series === 'full-batch GD');
    expect(ref.map((r) => [r.x, r.mean])).toEqual([[8, 0.6], [32, 0.6]]);
  });

  it('names what is missing', () => {
    expect(() => sweepRows(study, result, 'nope')).toThrow(/has no sweep 'nope'; it has 'gap-vs-B'/);
    expect(() => sweepRows(study, result, 'gap-vs-B', { referenceArm: 'missing' })).toThrow(ConfigError);
  });

  it('renders with the series in the legend', async () => {
    const fig = await renderVegaLite(sweepChart(study, result, 'gap-vs-B', { referenceArm: 'GD' }));
    for (const s of ['gap against B', 'mean over 2 seeds', '>GD<']) expect(fig.svg).toContain(s);
  });
});

describe('paper figures: centres on a log axis, ticks at the swept values', { timeout: 60_000 }, () => {
  // The per-seed final values (as runStudy returns them): the geometric mean is what a log axis shows.
  const seeds: Record<string, number[]> = { 'A B=8': [0.01, 0.1], 'A B=32': [0.02, 0.08], 'C B=8': [0.001, 0.1], 'C B=32': [-0.01, 0.01, 0.03], GD: [0.5, 0.7] };
  const records = Object.entries(seeds).flatMap(([a, vs]) => vs.map((v, seed) => ({ arm: a, seed, final: { objectiveGap: v } })));
  const withRecords = {
    records, finalJson: {},
    arms: Object.entries(seeds).map(([a, vs]) => arm(a, vs)),
  } as unknown as StudyResult;

  it('a log y sweep uses the geometric mean over seeds (the median where a seed is <= 0)', () => {
    const rows = sweepRows(study, withRecords, 'gap-vs-B');
    const at = (s: string, x: number) => rows.find((r) => r.series === s && r.x === x)!;
    expect(at('A', 8).mean).toBeCloseTo(Math.sqrt(0.01 * 0.1), 15);
    expect(at('A', 8).centre).toBe('geometric mean');
    expect(at('A', 32).mean).toBeCloseTo(0.04, 15);
    expect(at('C', 8).mean).toBeCloseTo(0.01, 15); // arithmetic: 0.0505
    expect(at('C', 32)).toMatchObject({ mean: 0.01, centre: 'median' });
    // min–max band unchanged; a linear axis keeps the arithmetic mean.
    expect(at('A', 8)).toMatchObject({ lo: 0.01, hi: 0.1 });
    expect(sweepRows(study, withRecords, 'gap-vs-B', { log: false }).find((r) => r.series === 'A' && r.x === 8)).toMatchObject({ mean: 0.055, centre: 'mean' });
  });

  it('the subtitle says which centre the line is, before a caller\'s own lines', () => {
    const spec = sweepChart(study, withRecords, 'gap-vs-B', { subtitle: 'mine' }) as unknown as { title: { subtitle: string[] } };
    expect(spec.title.subtitle[0]).toBe('line: geometric mean (median where a seed is ≤ 0) over 3 seeds; band: min–max over seeds');
    expect(spec.title.subtitle[1]).toBe('mine');
    const only = { ...study, sweeps: [{ ...study.sweeps![0]!, series: { A: study.sweeps![0]!.series.A! } }] } as StudySpec;
    const geo = sweepChart(only, withRecords, 'gap-vs-B') as unknown as { title: { subtitle: string[] } };
    expect(geo.title.subtitle[0]).toBe('line: geometric mean over 2 seeds; band: min–max over seeds');
  });

  it('ticks only at the swept B values (8 and 32, nothing between)', async () => {
    const spec = sweepChart(study, withRecords, 'gap-vs-B') as unknown as { encoding: { x: { axis: { values: number[] } } } };
    expect(spec.encoding.x.axis.values).toEqual([8, 32]);
    const fig = await renderVegaLite(spec as never);
    const xAxis = /aria-label="X-axis[^"]*"(.*?)role-axis-title/.exec(fig.svg)![1]!;
    expect([...xAxis.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1])).toEqual(['8', '32']);
  });

  it('sweepChart and biasCurveChart take a paper size', () => {
    const col = sweepChart(study, withRecords, 'gap-vs-B', { size: 'column' }) as unknown as { width: number; config: { legend: { orient: string } } };
    expect(col.width).toBeLessThan(234);
    expect(col.config.legend.orient).toBe('bottom');
  });
});

describe('biasCurveRows / biasCurveChart', { timeout: 60_000 }, () => {
  const report = estimatorBias({ modality: 'bimodal', n: 16, d: 4, tau: 0.1, batchSizes: [2, 4, 8], draws: 400, seed: 1 });

  it('gives a row per (B, estimator) with a band of ± z SE of the squared bias (square-rooted, not below 0)', () => {
    const rows = biasCurveRows(report, 2);
    expect(rows).toHaveLength(6);
    expect(rows.map((r) => r.estimator)).toEqual([2, 4, 8].flatMap(() => Object.values(BIAS_ESTIMATOR_LABELS)));
    rows.forEach((r, k) => {
      const e = report.rows[Math.floor(k / 2)]![k % 2 === 0 ? 'plugin' : 'sogclr'];
      expect(r.bias).toBe(e.bias);
      expect(r.lo).toBeCloseTo(Math.sqrt(Math.max(e.biasSq - 2 * e.biasSqSE, 0)), 15);
      expect(r.hi).toBeCloseTo(Math.sqrt(Math.max(e.biasSq, 0) + 2 * e.biasSqSE), 15);
      expect(r.lo).toBeLessThanOrEqual(r.bias);
      expect(r.hi).toBeGreaterThanOrEqual(r.bias);
      expect(r.withinNoise).toBe(Math.abs(e.biasSq) <= 2 * e.biasSqSE);
      expect(r.relative).toBeCloseTo(r.bias / report.gradNorm, 15);
    });
    // The plug-in bias is resolved at every B here (D̂ ≥ 10 SE); SogCLR's is not (|D̂| < 1 SE); a band of 0 SE collapses onto the estimate.
    expect(rows.map((r) => r.withinNoise)).toEqual([false, true, false, true, false, true]);
    for (const r of biasCurveRows(report, 0)) if (r.bias > 0) expect([r.lo, r.hi]).toEqual([r.bias, r.bias]);
    expect(() => biasCurveRows(report, -1)).toThrow(DomainError);
  });

  it('has ticks at its batch sizes only', () => {
    expect((biasCurveChart(report) as unknown as { encoding: { x: { axis: { values: number[] } } } }).encoding.x.axis.values).toEqual([2, 4, 8]);
  });

  it('renders with the slope in the subtitle', async () => {
    const fig = await renderVegaLite(biasCurveChart(report));
    expect(fig.svg).toContain('D̂ ± 2 SE');
    expect(fig.svg).toMatch(/plug-in ∝ B\^-?\d\.\d\d/);
    expect(fig.svg).toContain('plug-in (u = ĝ)');
  });
});
