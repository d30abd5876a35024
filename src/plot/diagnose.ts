/**
 * The figures of a `diagnose` result (analysis/diagnose.ts): what a researcher looks at first.
 *   diagnose-bias-vs-B        plug-in and exact-u SogCLR bias ± SE against B (log-log)
 *   diagnose-variance-vs-B    total variance of one estimate against B (log-log)
 *   diagnose-similarities     fraction per bin of positive s_ii and negative s_ij (sampled pairs)
 *   diagnose-anchor-losses    distribution of the anchors' infonce losses (row + col)/2
 */
import type { Diagnosis, Histogram } from '../analysis/diagnose.ts';
import type { StagedDir } from '../io/atomic.ts';
import { lineChartWithBands, type Row } from './charts.ts';
import { writeFigure } from './index.ts';

function curve(h: Histogram, series: string): Row[] {
  const total = h.counts.reduce((a, b) => a + b, 0) || 1;
  return h.counts.map((c, i) => ({ x: (h.edges[i]! + h.edges[i + 1]!) / 2, y: c / total, series }));
}

export async function writeDiagnoseFigures(out: StagedDir, r: Diagnosis): Promise<string[]> {
  const sub = `N = ${r.n}, d = ${r.d}, tau = ${r.tau}, ${r.modality} estimators`;
  const biasRows: Row[] = [];
  const varRows: Row[] = [];
  for (const b of r.batchSizes) {
    for (const [name, e] of [['plug-in', b.bias.plugin], ['SogCLR, u = g', b.bias.sogclr]] as const) {
      // An unresolved bias is drawn at its resolvable size (bias + SE), the band from 0 up to it.
      biasRows.push({ B: b.B, y: e.bias > 0 ? e.bias : e.bias + e.biasSE, lo: Math.max(e.bias - e.biasSE, 0), hi: e.bias + e.biasSE, series: name });
      varRows.push({ B: b.B, y: e.variance, series: name });
    }
  }
  const written: string[] = [];
  const put = async (name: string, spec: Parameters<typeof writeFigure>[2]) => {
    await writeFigure(out, name, spec);
    written.push(name);
  };
  await put('diagnose-bias-vs-B', lineChartWithBands({
    title: 'Gradient-estimator bias against batch size', subtitle: [sub, 'band: ± one SE; an unresolved bias is drawn at bias + SE (an upper size)'],
    x: { field: 'B', title: 'batch size B', scale: 'log2' }, y: { field: 'y', title: '||E[estimate] - grad F||', scale: 'log' },
    series: 'series', seriesTitle: 'estimator', rows: biasRows, points: true,
  }));
  await put('diagnose-variance-vs-B', lineChartWithBands({
    title: 'Gradient-estimator variance against batch size', subtitle: sub,
    x: { field: 'B', title: 'batch size B', scale: 'log2' }, y: { field: 'y', title: 'trace Var (one estimate)', scale: 'log' },
    series: 'series', seriesTitle: 'estimator', rows: varRows, band: null, points: true,
  }));
  const s = r.similarity;
  await put('diagnose-similarities', lineChartWithBands({
    title: 'Similarities u_i·v_j', subtitle: [sub, `negatives: ${s.negativeHistogram.sampled} sampled pairs of ${s.negativeHistogram.of}`],
    x: { field: 'x', title: 'similarity' }, y: { field: 'y', title: 'fraction per bin' },
    series: 'series', seriesTitle: 'pairs', rows: [...curve(s.positiveHistogram, 'positive (i = j)'), ...curve(s.negativeHistogram, 'negative (i ≠ j)')], band: null,
  }));
  await put('diagnose-anchor-losses', lineChartWithBands({
    title: 'Loss over anchors (infonce, (row + column)/2)', subtitle: sub,
    x: { field: 'x', title: 'anchor loss' }, y: { field: 'y', title: 'fraction of anchors per bin' },
    series: 'series', seriesTitle: '', rows: curve(r.anchors.lossHistogram, 'anchors'), band: null,
  }));
  return written;
}
