/**
 * Figures ready for a paper: legend labels are never cut, panels that share a metric share their
 * axes, a sweep has ticks only at its x values, and the column / page sizes give SVGs 3.25 in and
 * 6.75 in wide (72 px/in) with PNGs at 4×.
 */
import { describe, expect, it } from 'vitest';
import {
  FIGURE_WIDTH_PX, PAPER_CONFIG, heatmap, lineChartWithBands, panelGrid, renderVegaLite, scatterChart, textWidthEstimate, wrapText,
  type Row, type VegaLiteSpec,
} from '../../src/plot/index.ts';
import { scatter3dChart } from '../../src/plot/scatter3d.ts';

type Obj = Record<string, any>;
const S = (spec: VegaLiteSpec) => spec as unknown as Obj;

// Vega's default labelLimit (160 px, with its 0.8 em estimate) cut the first one to 'fixed partition {0,1…'.
const LONG = ['fixed partition {0,1}, {2,3}', 'all C(4,2) batches', 'full batch'];
function sweep(Bs = [8, 32, 128]): Row[] {
  return LONG.flatMap((m, k) => Bs.map((B) => ({ m, B, mean: (k + 1) / B, lo: 0.8 * (k + 1) / B, hi: 1.2 * (k + 1) / B })));
}
const svgWidth = (svg: string) => Number(/^<svg[^>]* width="([\d.]+)"/.exec(svg)![1]);
const pngWidth = (png: Uint8Array) => new DataView(png.buffer, png.byteOffset).getUint32(16);

describe('legends', () => {
  it('never cut labels: labelLimit 0 in every config', () => {
    const spec = S(lineChartWithBands({ title: 't', rows: sweep(), series: 'm', x: { field: 'B', title: 'B', scale: 'log2' }, y: { field: 'mean', title: 'y' } }));
    expect(spec.config.legend.labelLimit).toBe(0);
    expect(PAPER_CONFIG.legend.labelLimit).toBe(0);
    const col = S(lineChartWithBands({ title: 't', size: 'column', rows: sweep(), series: 'm', x: { field: 'B', title: 'B', scale: 'log2' }, y: { field: 'mean', title: 'y' } }));
    expect(col.config.legend.labelLimit).toBe(0);
    expect(col.config.legend.orient).toBe('bottom');
  });

  it('a long label is drawn whole (no ellipsis)', { timeout: 60_000 }, async () => {
    const fig = await renderVegaLite(lineChartWithBands({ title: 't', rows: sweep(), series: 'm', x: { field: 'B', title: 'B', scale: 'log2' }, y: { field: 'mean', title: 'y' } }));
    expect(fig.svg).toContain(`>${LONG[0]!.replace('{', '{')}<`);
    expect(fig.svg).not.toContain('…');
  });
});

describe('ticks only where there is data', () => {
  it('a log2 sweep axis has ticks at exactly its B values', () => {
    const spec = S(lineChartWithBands({ title: 't', rows: sweep([8, 32, 128]), series: 'm', x: { field: 'B', title: 'B', scale: 'log2' }, y: { field: 'mean', title: 'y', scale: 'log' } }));
    expect(spec.encoding.x.axis.values).toEqual([8, 32, 128]);
  });

  it('ticks: data on a linear axis, and for a scatter', () => {
    const rows = sweep([10, 12, 20]);
    const line = S(lineChartWithBands({ title: 't', rows, series: 'm', x: { field: 'B', title: 'B', ticks: 'data' }, y: { field: 'mean', title: 'y' } }));
    expect(line.encoding.x.axis.values).toEqual([10, 12, 20]);
    const pts = S(scatterChart({ title: 't', rows, series: 'm', x: { field: 'B', title: 'B', scale: 'log2' }, y: { field: 'mean', title: 'y' } }));
    expect(pts.encoding.x.axis.values).toEqual([10, 12, 20]);
  });

  it('the rendered axis labels are the data values only', { timeout: 60_000 }, async () => {
    const fig = await renderVegaLite(lineChartWithBands({ title: 't', rows: sweep([8, 32, 128]), series: 'm', x: { field: 'B', title: 'batch size', scale: 'log2' }, y: { field: 'mean', title: 'y' } }));
    const xAxis = /aria-label="X-axis[^"]*"(.*?)role-axis-title/.exec(fig.svg)![1]!;
    const labels = [...xAxis.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(labels).toEqual(['8', '32', '128']);
  });
});

describe('column and page sizes', () => {
  const chart = (size: 'column' | 'page') => lineChartWithBands({
    title: 'A long title that cannot fit on one line of a single column of a paper', subtitle: 'and a subtitle that is long as well, to be wrapped',
    size, rows: sweep(), series: 'm', seriesTitle: 'method', x: { field: 'B', title: 'B', scale: 'log2' }, y: { field: 'mean', title: 'y', scale: 'log' },
  });

  it('are 3.25 in and 6.75 in at 72 px/in', () => {
    expect(FIGURE_WIDTH_PX).toEqual({ column: 234, page: 486 });
  });

  it('set the plot width from the figure width and wrap the title to it', () => {
    const col = S(chart('column'));
    expect(col.width).toBe(234 - 2 * PAPER_CONFIG.padding - 46); // the y axis's room; the legend goes below
    expect(col.height).toBe(Math.round(0.62 * col.width));
    expect(col.title.text.length).toBeGreaterThan(1);
    for (const line of col.title.text) expect(textWidthEstimate(line, PAPER_CONFIG.title.fontSize, true)).toBeLessThanOrEqual(234 - 2 * PAPER_CONFIG.padding);
    const page = S(chart('page'));
    const wide = S(lineChartWithBands({ title: 't', size: 'page', rows: sweep().map((r) => ({ ...r, m: `${r.m}, and a long explanation` })), series: 'm', x: { field: 'B', title: 'B' }, y: { field: 'mean', title: 'y' } }));
    // This legend's longest label would take over 30 % of the page width: below the plot too.
    expect(wide.width).toBe(486 - 2 * PAPER_CONFIG.padding - 46);
    expect(wide.config.legend.orient).toBe('bottom');
    const short = S(lineChartWithBands({ title: 't', size: 'page', rows: sweep().map((r) => ({ ...r, m: String(r.m).slice(0, 8) })), series: 'm', x: { field: 'B', title: 'B' }, y: { field: 'mean', title: 'y' } }));
    expect(short.config.legend.orient).toBeUndefined(); // on the right
    expect(short.width).toBeLessThan(486 - 2 * PAPER_CONFIG.padding - 46);
    expect(short.width).toBeGreaterThan(300);
  });

  it('render to SVGs exactly that wide and PNGs at 4x, text outlined', { timeout: 60_000 }, async () => {
    for (const size of ['column', 'page'] as const) {
      const fig = await renderVegaLite(chart(size), { size });
      expect(svgWidth(fig.svg)).toBe(FIGURE_WIDTH_PX[size]);
      expect(pngWidth(fig.png)).toBe(4 * FIGURE_WIDTH_PX[size]);
      expect(fig.svg).not.toContain('<text');
      expect(fig.warnings, fig.warnings.join('\n')).toEqual([]);
    }
    const plain = await renderVegaLite(chart('column'), { size: 'column', scale: 2, outlineText: false });
    expect(pngWidth(plain.png)).toBe(468);
    expect(plain.svg).toContain('<text');
    await expect(renderVegaLite(chart('column'), { size: 'column', scale: 1 })).rejects.toThrow(/scale >= 2/);
    // A spec laid out for the screen is scaled down to the column, with a warning.
    const screen = await renderVegaLite(lineChartWithBands({ title: 't', rows: sweep(), series: 'm', x: { field: 'B', title: 'B' }, y: { field: 'mean', title: 'y' } }), { size: 'column' });
    expect(svgWidth(screen.svg)).toBe(234);
    expect(screen.warnings.join()).toMatch(/shrunk to 234/);
  });

  it('a panel grid and a 3-D view fit the width too', { timeout: 60_000 }, async () => {
    const panels = [1, 2, 3].map((k) => lineChartWithBands({ title: `panel ${k}`, rows: sweep(), series: 'm', x: { field: 'B', title: 'B', scale: 'log2' }, y: { field: 'mean', title: 'y' } }));
    const grid = await renderVegaLite(panelGrid(panels, { title: 'grid', size: 'page' }), { size: 'page' });
    expect(svgWidth(grid.svg)).toBe(486);
    expect(grid.warnings, grid.warnings.join('\n')).toEqual([]);
    const v3 = S(scatter3dChart({ title: 'points', points: [[1, 0, 0], [0, 1, 0]], size: 'column' }));
    expect(v3.width).toBe(234 - 2 * PAPER_CONFIG.padding);
  });

  it('wrapText keeps words whole', () => {
    expect(wrapText('aaa bbb ccc', textWidthEstimate('aaa bbb', 10), 10)).toEqual(['aaa bbb', 'ccc']);
    expect(wrapText('short', 1000, 10)).toEqual(['short']);
  });
});

describe('panelGrid: shared axes', () => {
  const panel = (k: number, yTitle = 'gap', scale: 'log' | 'linear' = 'log') => lineChartWithBands({
    title: `N = ${k}`, rows: sweep(k === 1 ? [8, 32] : [8, 32, 128]).map((r) => ({ ...r, mean: (r.mean as number) * k })), series: 'm',
    x: { field: 'B', title: 'B', scale: 'log2' }, y: { field: 'mean', title: yTitle, scale },
  });

  it('panels of one metric share x and y scales and line up', () => {
    const spec = S(panelGrid([panel(1), panel(2), panel(3)]));
    expect(spec.resolve).toEqual({ scale: { x: 'shared', y: 'shared' } });
    expect(spec.align).toBe('all');
    // One set of ticks for all: the union of the panels' B values.
    for (const p of spec.concat) expect(p.encoding.x.axis.values).toEqual([8, 32, 128]);
  });

  it('panels of different metrics keep their own y scale; `independent` overrides', () => {
    expect(S(panelGrid([panel(1), panel(2, 'accuracy', 'linear')])).resolve).toEqual({ scale: { x: 'shared', y: 'independent' } });
    expect(S(panelGrid([panel(1), panel(2)], { independent: ['x', 'y'] })).resolve).toEqual({ scale: { x: 'independent', y: 'independent' } });
  });

  it('heat-maps keep their ordinal scales (and render)', { timeout: 60_000 }, async () => {
    const g = panelGrid([heatmap({ title: 'a', matrix: [[1, 0], [0, 1]] }), heatmap({ title: 'b', matrix: [[1, 0.5], [0.5, 1]] })]);
    expect(S(g).resolve.scale).toMatchObject({ x: 'independent', y: 'independent' });
    expect((await renderVegaLite(g)).warnings).toEqual([]);
  });

  it('a shared grid renders without warnings', { timeout: 60_000 }, async () => {
    const fig = await renderVegaLite(panelGrid([panel(1), panel(2)], { title: 'shared' }));
    expect(fig.warnings).toEqual([]);
  });
});

describe('makeFigures: one range for the panels of a metric unless it flattens some', () => {
  it('sharedRange: shared when every panel keeps at least half its resolution', async () => {
    const { sharedRange } = await import('../../src/experiments/figures.ts');
    expect(sharedRange([[1, 10], [2, 20]], true)).toEqual([1, 20]);
    expect(sharedRange([[1e-16, 1], [0.1, 10]], true)).toBeUndefined(); // 17 decades against 2
    expect(sharedRange([[0, 1000], [0, 4000]], false)).toBeUndefined();
    expect(sharedRange([[0, 3000], [0, 4000]], false)).toEqual([0, 4000]);
  });
});
