/**
 * Figures: every builder's spec compiles and renders without a browser; the SVG holds the marks,
 * titles and legends we asked for; the PNG is a PNG of the expected size; the same spec gives the
 * same bytes; log axes survive zeros; writeFigure writes both files atomically.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, DomainError, NonFiniteError, ShapeError } from '../../src/core/errors.ts';
import { fromRows } from '../../src/core/matrix.ts';
import { StagedDir } from '../../src/io/atomic.ts';
import { etfGram } from '../../src/optima/etf.ts';
import {
  barChart, heatmap, histogram, lineChartWithBands, logTickValues, panelGrid, plotFonts, renderVegaLite, scatterChart, writeFigure,
  type RenderedFigure, type Row, type VegaLiteSpec,
} from '../../src/plot/index.ts';

const METHODS = ['full-batch GD', 'SGD reshuffle', 'SogCLR'];

/** Rows of a convergence trace: mean over seeds with a min/max band, per method and step. */
function traceRows(zeroAt?: number): Row[] {
  const rows: Row[] = [];
  METHODS.forEach((method, k) => {
    for (let step = 0; step <= 500; step += 50) {
      const mean = 10 * Math.exp(-step / (100 * (k + 1)));
      rows.push({ method, step, mean: step === zeroAt ? 0 : mean, lo: step === zeroAt ? 0 : 0.7 * mean, hi: 1.4 * mean });
    }
  });
  return rows;
}

/** The contents of every `<g class="mark-KIND role-mark ...">…</g>` group (one per series for lines). */
function markGroups(svg: string, kind: string): string[] {
  const re = new RegExp(`<g class="mark-${kind} role-mark[^"]*"[^>]*>(.*?)</g>`, 'g');
  return [...svg.matchAll(re)].map((m) => m[1]!);
}
function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}
function textContents(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>(.*?)<\/text>/g)].map((m) => m[1]!.replace(/<[^>]+>/g, ''));
}
function svgSize(svg: string): { width: number; height: number } {
  const m = /^<svg[^>]* width="([\d.]+)" height="([\d.]+)"/.exec(svg);
  if (m === null) throw new Error('no svg size');
  return { width: Number(m[1]), height: Number(m[2]) };
}
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Width and height from the PNG's IHDR chunk (which must come first). */
function pngSize(png: Uint8Array): { width: number; height: number } {
  expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  expect(String.fromCharCode(...png.subarray(12, 16))).toBe('IHDR');
  return { width: dv.getUint32(16), height: dv.getUint32(20) };
}
/** Checks shared by every render: PNG signature and size = SVG size × scale, no compile warnings. */
function checkFigure(fig: RenderedFigure, scale = 2): void {
  const s = svgSize(fig.svg);
  const p = pngSize(fig.png);
  expect(p).toEqual({ width: fig.width, height: fig.height });
  expect(Math.abs(p.width - s.width * scale)).toBeLessThanOrEqual(1);
  expect(Math.abs(p.height - s.height * scale)).toBeLessThanOrEqual(1);
  expect(fig.warnings).toEqual([]);
}

const tmpDirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'contrastlab-plot-'));
  tmpDirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

describe('fonts', () => {
  it('finds font files for resvg, or says it falls back to the system fonts', () => {
    const f = plotFonts();
    expect(['dejavu', 'env', 'system']).toContain(f.source);
    if (f.source !== 'system') expect(f.files.length).toBeGreaterThan(0);
  });
});

describe('lineChartWithBands', { timeout: 120_000 }, () => {
  const spec = lineChartWithBands({
    title: 'Distance to the optimum',
    subtitle: 'band = min/max over seeds',
    x: { field: 'step', title: 'step' },
    y: { field: 'mean', title: 'Gram distance', scale: 'log' },
    series: 'method',
    seriesOrder: METHODS,
    rows: traceRows(),
  });

  it('draws one line and one band per series, the titles and a legend', async () => {
    const fig = await renderVegaLite(spec);
    checkFigure(fig);
    const lines = markGroups(fig.svg, 'line');
    expect(lines).toHaveLength(METHODS.length);
    for (const g of lines) expect(count(g, '<path')).toBe(1);
    expect(markGroups(fig.svg, 'area')).toHaveLength(METHODS.length);
    const texts = textContents(fig.svg);
    expect(texts).toContain('Distance to the optimum');
    expect(texts).toContain('step');
    expect(texts).toContain('Gram distance');
    expect(texts).toContain('method');
    for (const m of METHODS) expect(texts).toContain(m);
    expect(fig.svg).toContain('font-family="DejaVu Sans, sans-serif"');
    expect(fig.svg).toContain('for a log scale');
  });

  it('gives byte-identical SVG and PNG for the same spec, also after other renders in between', async () => {
    const a = await renderVegaLite(spec);
    const [b] = await Promise.all([renderVegaLite(spec), renderVegaLite(heatmap({ title: 'other', matrix: etfGram(4) }))]);
    const c = await renderVegaLite(JSON.parse(JSON.stringify(spec)) as VegaLiteSpec);
    expect(b!.svg).toBe(a.svg);
    expect(c.svg).toBe(a.svg);
    expect(Buffer.from(b!.png).equals(Buffer.from(a.png))).toBe(true);
    expect(Buffer.from(c.png).equals(Buffer.from(a.png))).toBe(true);
  });

  it('a log axis with zeros does not throw: the zeros are clamped and the subtitle says so', async () => {
    const zeroSpec = lineChartWithBands({
      title: 'With zeros', x: { field: 'step', title: 'step', scale: 'log' }, y: { field: 'mean', title: 'gap', scale: 'log' },
      series: 'method', rows: traceRows(0),
    });
    const fig = await renderVegaLite(zeroSpec);
    checkFigure(fig);
    const sub = JSON.stringify((zeroSpec as { title: { subtitle: string[] } }).title.subtitle);
    expect(sub).toMatch(/log y: 6 values ≤ 0 drawn at/); // mean and lo of 3 methods at step 0
    expect(sub).toMatch(/log x: 3 values ≤ 0 drawn at 50/); // step 0 of each method, at the smallest positive step
    expect(fig.svg).toContain('log y: 6 values');
    expect(markGroups(fig.svg, 'line')).toHaveLength(METHODS.length);
    // No positive value at all: drawn at 1.
    const allZero = lineChartWithBands({
      title: 'All zero', x: { field: 'step', title: 'step' }, y: { field: 'mean', title: 'gap', scale: 'log' }, series: 'method',
      rows: [{ method: 'a', step: 0, mean: 0, lo: 0, hi: 0 }, { method: 'a', step: 1, mean: -1, lo: -2, hi: 0 }],
    });
    checkFigure(await renderVegaLite(allZero));
    expect(JSON.stringify(allZero)).toContain('6 values ≤ 0 drawn at 1');
  });

  it('log axes: grid and labels at the decades, or at 1-2-5 steps over at most two decades', async () => {
    expect(logTickValues(0.0012, 37)).toEqual([0.001, 0.01, 0.1, 1, 10, 100]);
    expect(logTickValues(1e-12, 1e3)).toEqual([1e-12, 1e-10, 1e-8, 1e-6, 1e-4, 0.01, 1, 100]);
    expect(logTickValues(2, 30)).toEqual([1, 2, 5, 10, 20, 50, 100]);
    expect(logTickValues(1, 1)).toEqual([1]);
    const fig = await renderVegaLite(lineChartWithBands({
      title: 't', x: { field: 'step', title: 'step' }, y: { field: 'mean', title: 'y', scale: 'log' }, series: 'method',
      rows: [{ method: 'a', step: 0, mean: 1e-7, lo: 1e-8, hi: 1e-6 }, { method: 'a', step: 1, mean: 2, lo: 1, hi: 3 }],
    }));
    checkFigure(fig);
    const texts = textContents(fig.svg);
    for (const label of ['1e-8', '1e-6', '1e-4', '0.01', '1']) expect(texts).toContain(label);
    expect(texts).not.toContain('0.000001');
  });

  it('leaves out non-finite values (a gap in the line) and counts them', async () => {
    const rows = traceRows().map((r, i) => (i === 3 ? { ...r, mean: NaN } : i === 4 ? { ...r, hi: Infinity } : r));
    const s = lineChartWithBands({ title: 't', x: { field: 'step', title: 'step' }, y: { field: 'mean', title: 'y' }, series: 'method', rows });
    expect(JSON.stringify(s)).toContain('y: 2 missing or non-finite values left out');
    const fig = await renderVegaLite(s);
    expect(fig.svg).not.toContain('NaN');
  });

  it('lines only with band: null; named band fields; typed errors', () => {
    const rows = traceRows().map(({ method, step, mean }) => ({ method, step, mean }));
    const s = lineChartWithBands({ title: 't', x: { field: 'step', title: 's' }, y: { field: 'mean', title: 'y' }, series: 'method', rows, band: null });
    expect(JSON.stringify(s)).not.toContain('"area"');
    expect(() => lineChartWithBands({ title: 't', x: { field: 'step', title: 's' }, y: { field: 'mean', title: 'y' }, series: 'method', rows })).toThrow(ConfigError);
    expect(() => lineChartWithBands({ title: 't', x: { field: 'step', title: 's' }, y: { field: 'mean', title: 'y' }, series: 'method', rows: [] })).toThrow(/rows is empty/);
    expect(() => lineChartWithBands({ title: 't', x: { field: 'step', title: 's' }, y: { field: 'mean', title: 'y', scale: 'log', domain: [0, 1] }, series: 'method', rows: traceRows() })).toThrow(DomainError);
    expect(() => lineChartWithBands({ title: 't', x: { field: 'step', title: 's' }, y: { field: 'method', title: 'y' }, series: 'method', rows: traceRows() })).toThrow(/must hold numbers/);
    const named = lineChartWithBands({
      title: 't', x: { field: 'step', title: 's' }, y: { field: 'mean', title: 'y' }, series: 'method', band: { lo: 'min', hi: 'max' },
      rows: traceRows().map((r) => ({ ...r, min: r.lo, max: r.hi })),
    });
    expect(JSON.stringify(named)).toContain('"y2":{"field":"max"}');
  });
});

describe('heatmap', { timeout: 60_000 }, () => {
  it('draws one cell per entry on a diverging scale centred at 0, with a gradient legend', async () => {
    const g = etfGram(6);
    const spec = heatmap({ title: 'Gram matrix U Vᵀ', matrix: g, colorTitle: 'u_i · v_j' });
    const fig = await renderVegaLite(spec);
    checkFigure(fig);
    const cells = markGroups(fig.svg, 'rect');
    expect(cells).toHaveLength(1);
    expect(count(cells[0]!, '<path')).toBe(36);
    expect(fig.svg).toContain('<linearGradient');
    expect(fig.svg).toContain('aria-label="Gradient legend');
    const texts = textContents(fig.svg);
    expect(texts).toContain('Gram matrix U Vᵀ');
    expect(texts).toContain('u_i · v_j');
    expect(texts).toContain('row i');
    expect(texts).toContain('column j');
    const color = (spec as { encoding: { color: { scale: { domain: number[]; domainMid: number } } } }).encoding.color.scale;
    expect(color.domain).toEqual([-1, 1]); // max |entry| of the ETF Gram is the diagonal, 1
    expect(color.domainMid).toBe(0);
  });

  it('accepts number[][] (same spec as the Matrix) and a given colour range', () => {
    const rows = [[1, -0.5], [-0.5, 2]];
    expect(heatmap({ title: 'h', matrix: rows })).toEqual(heatmap({ title: 'h', matrix: fromRows(rows) }));
    const s = heatmap({ title: 'h', matrix: rows, colorDomain: [-1, 1] });
    expect(JSON.stringify(s)).toContain('1 entry outside the colour range [-1, 1]');
    const pos = heatmap({ title: 'h', matrix: [[0.2, 0.5]], colorDomain: [0, 1] });
    expect(JSON.stringify(pos)).not.toContain('domainMid');
  });

  it('labels every k-th row of a large matrix and stays quick to render', async () => {
    const fig = await renderVegaLite(heatmap({ title: 'N = 64', matrix: etfGram(64) }));
    checkFigure(fig);
    expect(count(markGroups(fig.svg, 'rect')[0]!, '<path')).toBe(64 * 64);
  });

  it('typed errors: NaN entry, ragged rows, empty matrix, bad colour range', () => {
    expect(() => heatmap({ title: 'h', matrix: [[1, NaN]] })).toThrow(NonFiniteError);
    expect(() => heatmap({ title: 'h', matrix: [[1, NaN]] })).toThrow(/entry \(0, 1\) is NaN/);
    expect(() => heatmap({ title: 'h', matrix: [[1, 2], [3]] })).toThrow(ShapeError);
    expect(() => heatmap({ title: 'h', matrix: [] })).toThrow(ShapeError);
    expect(() => heatmap({ title: 'h', matrix: [[1]], colorDomain: [1, -1] })).toThrow(DomainError);
  });
});

describe('scatterChart', { timeout: 60_000 }, () => {
  it('final value against B on a log2 axis, points joined per series', async () => {
    const Bs = [2, 4, 8, 16, 32, 64, 128];
    const rows = Bs.flatMap((B) => METHODS.map((method, k) => ({ B, method, loss: 2 + 0.1 * k + 1 / B })));
    const fig = await renderVegaLite(scatterChart({
      title: 'Final loss against B', x: { field: 'B', title: 'batch size B', scale: 'log2' }, y: { field: 'loss', title: 'final loss' },
      series: 'method', connect: true, rows,
    }));
    checkFigure(fig);
    expect(markGroups(fig.svg, 'line')).toHaveLength(METHODS.length);
    const points = markGroups(fig.svg, 'symbol');
    expect(points).toHaveLength(1);
    expect(count(points[0]!, '<path')).toBe(rows.length);
    const texts = textContents(fig.svg);
    for (const B of Bs) expect(texts).toContain(String(B));
    expect(texts).toContain('batch size B');
  });

  it('strip plot over seeds: one column per method, deterministic jitter', async () => {
    const rows = METHODS.flatMap((method, k) => Array.from({ length: 10 }, (_, s) => ({ method, seed: s, gap: k + 0.05 * s })));
    const spec = scatterChart({
      title: 'Final gap over seeds', x: { field: 'method', title: 'method', type: 'nominal' }, y: { field: 'gap', title: 'gap' },
      series: 'method', seriesOrder: [...METHODS].reverse(), rows,
    });
    const fig = await renderVegaLite(spec);
    checkFigure(fig);
    expect(count(markGroups(fig.svg, 'symbol')[0]!, '<path')).toBe(30);
    const jitters = (spec as { data: { values: { __jitter: number }[] } }).data.values.map((r) => r.__jitter);
    expect(new Set(jitters.slice(0, 10)).size).toBe(10);
    for (const j of jitters) expect(Math.abs(j)).toBeLessThanOrEqual(1);
    // x follows seriesOrder when x is the series field
    const labels = textContents(fig.svg).filter((t) => METHODS.includes(t));
    expect(labels.slice(0, 3)).toEqual([...METHODS].reverse());
    expect(() => scatterChart({ title: 't', x: { field: 'method', title: 'm', type: 'nominal', scale: 'log' }, y: { field: 'gap', title: 'g' }, rows })).toThrow(ConfigError);
  });
});

describe('barChart and histogram', { timeout: 60_000 }, () => {
  it('grouped bars with error bars', async () => {
    const rows = [4, 8, 16].flatMap((B) => METHODS.map((method, k) => ({ B, method, steps: 100 * (k + 1) + B, lo: 90 * (k + 1), hi: 130 * (k + 1) + B })));
    const fig = await renderVegaLite(barChart({
      title: 'Steps to converge', x: { field: 'B', title: 'batch size B', type: 'ordinal' }, y: { field: 'steps', title: 'steps' },
      series: 'method', errorBars: { lo: 'lo', hi: 'hi' }, rows,
    }));
    checkFigure(fig);
    expect(count(markGroups(fig.svg, 'rect')[0]!, '<path')).toBe(9);
    expect(count(markGroups(fig.svg, 'rule')[0]!, '<line')).toBe(9);
    expect(textContents(fig.svg)).toContain('Steps to converge');
  });

  it('bars on a log axis with a zero do not throw', async () => {
    const s = barChart({ title: 'log bars', x: { field: 'm', title: 'm' }, y: { field: 'v', title: 'v', scale: 'log' }, rows: [{ m: 'a', v: 0 }, { m: 'b', v: 1e-6 }, { m: 'c', v: 3 }] });
    checkFigure(await renderVegaLite(s));
    expect(JSON.stringify(s)).toContain('1 value ≤ 0 drawn at 1e-6');
  });

  it('histogram of a value over seeds, stacked by method', async () => {
    const rows = METHODS.flatMap((method, k) => Array.from({ length: 50 }, (_, s) => ({ method, loss: 2 + 0.3 * k + 0.2 * Math.sin(s * 1.7) })));
    const fig = await renderVegaLite(histogram({ title: 'Final loss over seeds', value: { field: 'loss', title: 'final loss' }, series: 'method', rows, maxbins: 12 }));
    checkFigure(fig);
    expect(count(markGroups(fig.svg, 'rect')[0]!, '<path')).toBeGreaterThan(3);
    const texts = textContents(fig.svg);
    expect(texts).toContain('count');
    expect(texts).toContain('final loss');
    expect(() => histogram({ title: 'h', value: { field: 'loss', title: 'l' }, rows, maxbins: 1 })).toThrow(DomainError);
  });
});

describe('panelGrid', { timeout: 60_000 }, () => {
  const configs = [[8, 16], [16, 32], [32, 64], [64, 128]] as const;
  const panels = configs.map(([n, d]) => lineChartWithBands({
    title: `N=${n}, d=${d}`, x: { field: 'step', title: 'step' }, y: { field: 'mean', title: 'gap', scale: 'log' },
    series: 'method', rows: traceRows(), width: 200, height: 120,
  }));

  it('one panel per (N, d), one shared legend', async () => {
    const fig = await renderVegaLite(panelGrid(panels, { title: 'Gap to the optimum', columns: 2 }));
    checkFigure(fig);
    const texts = textContents(fig.svg);
    expect(texts).toContain('Gap to the optimum');
    for (const [n, d] of configs) expect(texts).toContain(`N=${n}, d=${d}`);
    expect(markGroups(fig.svg, 'line')).toHaveLength(configs.length * METHODS.length);
    expect(count(fig.svg, 'aria-roledescription="legend"')).toBe(1);
  });

  it('independent colour scales give one legend per panel (heat-maps with their own ranges)', async () => {
    const fig = await renderVegaLite(panelGrid([heatmap({ title: 'a', matrix: etfGram(3) }), heatmap({ title: 'b', matrix: [[5, -5], [0, 1]] })], { independent: ['color'] }));
    checkFigure(fig);
    expect(count(fig.svg, 'aria-label="Gradient legend')).toBe(2);
    expect(() => panelGrid([])).toThrow(ConfigError);
  });
});

describe('renderVegaLite and writeFigure', { timeout: 60_000 }, () => {
  const spec = heatmap({ title: 'small', matrix: [[1, 0], [0, 1]] });

  it('scale sets the PNG size; bad scale and uncompilable specs are typed errors', async () => {
    checkFigure(await renderVegaLite(spec, { scale: 1 }), 1);
    checkFigure(await renderVegaLite(spec, { scale: 3 }), 3);
    await expect(renderVegaLite(spec, { scale: 0 })).rejects.toThrow(DomainError);
    await expect(renderVegaLite({ mark: 'nosuchmark' })).rejects.toThrow(ConfigError);
  });

  it('writes name.svg and name.png into a folder, refusing to overwrite unless asked', async () => {
    const dir = tmp();
    const out = await writeFigure(dir, 'gram', spec);
    expect(readFileSync(out.svgPath, 'utf8')).toBe(out.svg);
    expect(pngSize(readFileSync(out.pngPath))).toEqual({ width: out.width, height: out.height });
    expect(out.pngPath).toBe(join(dir, 'gram.png'));
    await expect(writeFigure(dir, 'gram', spec)).rejects.toThrow(/already exists/);
    writeFileSync(join(dir, 'other.png'), 'keep');
    await expect(writeFigure(dir, 'other', spec)).rejects.toThrow(/already exists/);
    expect(existsSync(join(dir, 'other.svg'))).toBe(false); // neither file written
    await writeFigure(dir, 'gram', spec, { overwrite: true });
    await expect(writeFigure(dir, '../escape', spec)).rejects.toThrow(ConfigError);
    await expect(writeFigure(dir, '', spec)).rejects.toThrow(ConfigError);
  });

  it('writes into a StagedDir, visible at the target only after commit', async () => {
    const target = join(tmp(), 'results', 'run1');
    const staged = new StagedDir(target);
    await writeFigure(staged, 'fig', spec);
    expect(existsSync(join(target, 'fig.png'))).toBe(false);
    staged.commit();
    expect(pngSize(readFileSync(join(target, 'fig.png'))).width).toBeGreaterThan(0);
    expect(readFileSync(join(target, 'fig.svg'), 'utf8')).toMatch(/^<svg/);
  });
});
