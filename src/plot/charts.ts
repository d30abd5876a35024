/**
 * Chart builders: pure functions from data rows to complete Vega-Lite specs (data inline, fonts and
 * sizes in `config`). Render them with `renderVegaLite` / `writeFigure`, or hand the JSON to any
 * Vega-Lite front end (notebooks).
 *
 * Conventions shared by the builders:
 * - rows are plain objects; a field holding NaN, ±Infinity, null or undefined is dropped by
 *   Vega-Lite (lines break there) and counted in the subtitle;
 * - a log axis cannot show values <= 0: those are clamped to `logFloor` (default: the smallest
 *   positive value of that axis in the data) and the subtitle says how many and where;
 * - `seriesOrder` fixes the colour of each series (same order → same colour in every figure);
 * - base-10 log axes put ticks, grid lines and labels at the decades (1-2-5 steps when the data
 *   span at most two decades); bars on a log axis start at the bottom of the axis.
 *
 * @example
 *   const spec = lineChartWithBands({
 *     title: 'Distance to the ETF Gram matrix', series: 'method', rows,
 *     x: { field: 'step', title: 'step' }, y: { field: 'mean', title: '‖UVᵀ − G*‖_F', scale: 'log' },
 *   });
 */
import { ConfigError, DomainError, NonFiniteError, ShapeError } from '../core/errors.ts';
import { get, type Matrix } from '../core/matrix.ts';
import { PLOT_FONT_FAMILY, type VegaLiteSpec } from './spec.ts';

/** A data row: field name → value. Numbers for quantitative fields, strings (or numbers) for categories. */
export type Row = Readonly<Record<string, unknown>>;

/** `log` is base 10; `log2` is base 2 (ticks at powers of two, e.g. the batch size B). */
export type AxisScale = 'linear' | 'log' | 'log2';

export interface AxisField {
  readonly field: string;
  readonly title: string;
  readonly scale?: AxisScale;
  /**
   * `data`: ticks, labels and grid lines only at the x values that occur in the data (e.g. B = 8,
   * 32, … for a sweep, never 10, 12, …). Default: `data` on a base-2 log axis with at most 16
   * distinct values, Vega's own ticks otherwise.
   */
  readonly ticks?: 'data' | 'auto';
  /** Fixed axis range [min, max] (on a log axis both must be > 0). */
  readonly domain?: readonly [number, number];
}

/** Options shared by the builders. */
export interface ChartCommon {
  readonly title: string;
  /** Extra subtitle lines (the builders append their own notes about clamped or dropped values). */
  readonly subtitle?: string | readonly string[];
  /** Plot-area size in SVG units (the whole figure adds axes, title and legend). */
  readonly width?: number;
  readonly height?: number;
  /**
   * Paper sizes: the whole figure (axes, title and legend included) is `FIGURE_WIDTH_PX.column`
   * (3.25 in) or `.page` (6.75 in) wide at 72 px/in; `width` is then ignored, `height` is the plot
   * area's height (default 0.62 × the width). Column figures put the legend below the plot, and
   * long titles and subtitles are wrapped to the width.
   */
  readonly size?: FigureSize;
}

/** One column (3.25 in) or the full page width (6.75 in) of a two-column paper. */
export type FigureSize = 'column' | 'page';
/** Figure widths in SVG units (72 px per inch). */
export const FIGURE_WIDTH_PX: Readonly<Record<FigureSize, number>> = { column: 234, page: 486 };

export const SCHEMA_URL = 'https://vega.github.io/schema/vega-lite/v6.json';
const DEFAULT_WIDTH = 360;
const DEFAULT_HEIGHT = 240;

/** Fonts, sizes and background every builder puts in its spec's `config`. */
export const PLOT_CONFIG = {
  font: `${PLOT_FONT_FAMILY}, sans-serif`,
  background: 'white',
  padding: 8,
  title: { fontSize: 14, subtitleFontSize: 11, subtitleColor: '#555', anchor: 'start', offset: 8 },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', labelColor: '#222', titleColor: '#222' },
  // labelLimit 0: legend labels are never cut short (Vega's default cuts them at 160 px with '…').
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', labelLimit: 0, titleLimit: 0 },
  header: { labelFontSize: 12, titleFontSize: 13 },
  range: { category: { scheme: 'tableau10' } },
} as const;

/**
 * The config of paper-size figures: PLOT_CONFIG with the type set at print sizes (8–10 units =
 * 8–10 pt at 72 px/in, against ~9–10 pt body text), thinner padding.
 */
export const PAPER_CONFIG = {
  ...PLOT_CONFIG,
  padding: 4,
  title: { ...PLOT_CONFIG.title, fontSize: 10, subtitleFontSize: 8, offset: 6 },
  axis: { ...PLOT_CONFIG.axis, labelFontSize: 8, titleFontSize: 9, titlePadding: 3, labelPadding: 2, tickSize: 3 },
  legend: { ...PLOT_CONFIG.legend, labelFontSize: 8, titleFontSize: 9, symbolSize: 60, rowPadding: 2, columnPadding: 8 },
  header: { labelFontSize: 9, titleFontSize: 10 },
} as const;

/** Room the builders leave beside a paper-size plot for its y axis (labels, ticks and title). */
const PAPER_Y_AXIS_ROOM = 46;

// ---------------------------------------------------------------------------------------------
// Data preparation (exported for tests and for callers who build their own specs)

export interface PreparedRows {
  readonly rows: Row[];
  /** Notes for the subtitle (clamped / dropped values). */
  readonly notes: string[];
  /** Smallest and largest finite value of the fields after clamping (null when there is none). */
  readonly range: readonly [number, number] | null;
}

function fmtNum(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  const r = Number(x.toPrecision(3));
  return a >= 1e-3 && a < 1e4 ? String(r) : r.toExponential();
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function checkField(op: string, role: string, field: string): void {
  if (typeof field !== 'string' || field === '') throw new ConfigError(op, `${role} field must be a non-empty string, got ${JSON.stringify(field)}`);
}

function checkSize(op: string, name: string, v: number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!(Number.isFinite(v) && v >= 10 && v <= 10000)) throw new DomainError(op, `${name} must be in [10, 10000], got ${v}`);
  return v;
}

function checkDomain(op: string, axis: AxisField): void {
  const d = axis.domain;
  if (d === undefined) return;
  if (!(Number.isFinite(d[0]) && Number.isFinite(d[1]) && d[0] < d[1])) {
    throw new DomainError(op, `${axis.field}: domain must be finite with min < max, got [${d[0]}, ${d[1]}]`);
  }
  if (axis.scale !== undefined && axis.scale !== 'linear' && d[0] <= 0) {
    throw new DomainError(op, `${axis.field}: a log axis needs a positive domain, got [${d[0]}, ${d[1]}]`);
  }
}

/**
 * Copies rows, sets non-finite / missing values of the numeric `fields` to null (Vega-Lite drops
 * them) and, when `log`, replaces values <= 0 by `floor` (default: the smallest positive value of
 * those fields, or 1 when there is none). Returns the copied rows, subtitle notes saying what was
 * changed, and the range of the values.
 */
export function prepareNumericFields(
  op: string,
  rows: readonly Row[],
  fields: readonly string[],
  axisName: string,
  log: boolean,
  floor?: number,
): PreparedRows {
  let dropped = 0;
  let clamped = 0;
  let minPos = Infinity;
  const out = rows.map((r) => ({ ...r }) as Record<string, unknown>);
  for (const r of out) {
    for (const f of fields) {
      const v = r[f];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        if (v !== undefined && v !== null && typeof v !== 'number') {
          throw new ConfigError(op, `field '${f}' must hold numbers, got ${JSON.stringify(v)}`);
        }
        dropped++;
        r[f] = null;
      } else if (v > 0 && v < minPos) {
        minPos = v;
      }
    }
  }
  const notes: string[] = [];
  if (log) {
    if (floor !== undefined && !(Number.isFinite(floor) && floor > 0)) throw new DomainError(op, `logFloor must be finite and > 0, got ${floor}`);
    const f0 = floor ?? (Number.isFinite(minPos) ? minPos : 1);
    for (const r of out) {
      for (const f of fields) {
        const v = r[f];
        if (typeof v === 'number' && v <= 0) {
          clamped++;
          r[f] = f0;
        }
      }
    }
    if (clamped > 0) notes.push(`log ${axisName}: ${plural(clamped, 'value')} ≤ 0 drawn at ${fmtNum(f0)}`);
  }
  if (dropped > 0) notes.push(`${axisName}: ${plural(dropped, 'missing or non-finite value')} left out`);
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of out) {
    for (const f of fields) {
      const v = r[f];
      if (typeof v === 'number') {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
  }
  return { rows: out, notes, range: lo <= hi ? [lo, hi] : null };
}

function scaleOf(axis: AxisField, zero?: boolean): Record<string, unknown> {
  const s: Record<string, unknown> = {};
  if (axis.scale === 'log') s.type = 'log';
  else if (axis.scale === 'log2') { s.type = 'log'; s.base = 2; }
  else if (zero !== undefined) s.zero = zero;
  if (axis.domain !== undefined) s.domain = [axis.domain[0], axis.domain[1]];
  return s;
}

function isLog(axis: AxisField): boolean {
  return axis.scale === 'log' || axis.scale === 'log2';
}

/**
 * Tick values of a base-10 log axis over [lo, hi] (both > 0): the powers of ten (every k-th when
 * there are more than 8), or 1-2-5 steps when the range spans at most two decades.
 */
export function logTickValues(lo: number, hi: number): number[] {
  const e0 = Math.floor(Math.log10(lo) + 1e-9);
  const e1 = Math.ceil(Math.log10(hi) - 1e-9);
  const pow = (k: number, m = 1) => Number(`${m}e${k}`); // exact decimal, unlike 10 ** k
  const out: number[] = [];
  if (e1 - e0 >= 3) {
    const step = Math.ceil((e1 - e0 + 1) / 8);
    for (let k = e0; k <= e1; k += step) out.push(pow(k));
  } else {
    for (let k = e0; k <= e1; k++) for (const m of [1, 2, 5]) if (k < e1 || m === 1) out.push(pow(k, m));
  }
  return out;
}

/** The distinct finite values of `field` in `rows`, ascending. */
export function distinctValues(rows: readonly Row[], field: string): number[] {
  const set = new Set<number>();
  for (const r of rows) {
    const v = r[field];
    if (typeof v === 'number' && Number.isFinite(v)) set.add(v);
  }
  return [...set].sort((a, b) => a - b);
}

/** Whether the axis gets ticks only at the data values (see AxisField.ticks). */
function dataTicks(axis: AxisField, values: readonly number[] | undefined): boolean {
  if (values === undefined || values.length === 0) return false;
  if (axis.ticks === 'data') return true;
  return axis.ticks === undefined && axis.scale === 'log2' && values.length <= 16;
}

function axisOf(axis: AxisField, range: readonly [number, number] | null, data?: readonly number[]): Record<string, unknown> {
  if (data !== undefined && dataTicks(axis, data)) {
    const d = axis.domain;
    const values = d === undefined ? [...data] : data.filter((v) => v >= d[0] && v <= d[1]);
    return { values, format: '~g', labelOverlap: false };
  }
  // Base 2: Vega's own ticks, labelled 2, 4, ..., 128.
  if (axis.scale === 'log2') return { format: '~g' };
  if (axis.scale === 'log') {
    // Base 10: ticks and grid lines at the decades only; labels 0.001 ... 1000 as decimals, beyond as 1e-6 / 1e4.
    const r = axis.domain ?? range;
    const a: Record<string, unknown> = {
      labelExpr: "abs(datum.value) >= 0.001 && abs(datum.value) < 10000 ? format(datum.value, '~g') : replace(format(datum.value, '~e'), '+', '')",
    };
    if (r !== null && r[0] > 0) a.values = logTickValues(r[0], r[1]);
    return a;
  }
  return {};
}

function titleOf(title: string, user: string | readonly string[] | undefined, notes: readonly string[]): Record<string, unknown> {
  const lines = [...(user === undefined ? [] : typeof user === 'string' ? [user] : user), ...notes];
  return lines.length === 0 ? { text: title } : { text: title, subtitle: lines };
}

function colorEncoding(series: string, seriesTitle: string | undefined, seriesOrder: readonly string[] | undefined): Record<string, unknown> {
  const enc: Record<string, unknown> = { field: series, type: 'nominal', title: seriesTitle ?? series };
  if (seriesOrder !== undefined) {
    enc.scale = { domain: [...seriesOrder] };
    enc.sort = [...seriesOrder];
  }
  return enc;
}

function checkFigureSize(op: string, size: unknown): FigureSize | undefined {
  if (size === undefined) return undefined;
  if (size !== 'column' && size !== 'page') throw new ConfigError(op, `size must be 'column' or 'page', got ${JSON.stringify(size)}`);
  return size;
}

/**
 * Text width in SVG units as the renderer estimates it (render.ts installs the same estimate in
 * Vega): DejaVu Sans averages about 0.62 em per character (digits 0.64), bold about 0.7 em.
 */
export function textWidthEstimate(text: string, fontSize: number, bold = false): number {
  return [...text].length * fontSize * (bold ? 0.7 : 0.62);
}

/** Splits `text` at spaces into lines of at most `width` units (a longer single word keeps its own line). */
export function wrapText(text: string, width: number, fontSize: number, bold = false): string[] {
  const words = text.split(' ');
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    const next = line === '' ? w : `${line} ${w}`;
    if (line !== '' && textWidthEstimate(next, fontSize, bold) > width) {
      lines.push(line);
      line = w;
    } else {
      line = next;
    }
  }
  if (line !== '' || lines.length === 0) lines.push(line);
  return lines;
}

/** Title and subtitle wrapped to `width` units (the title bold), at the paper sizes of PAPER_CONFIG. */
function wrappedTitle(title: Record<string, unknown>, width: number, fontSize: number = PAPER_CONFIG.title.fontSize): Record<string, unknown> {
  const out: Record<string, unknown> = { ...title };
  const text = title.text;
  const lines = (Array.isArray(text) ? text : [text]) as string[];
  out.text = lines.flatMap((l) => wrapText(l, width, fontSize, true));
  if (title.subtitle !== undefined) {
    out.subtitle = (title.subtitle as string[]).flatMap((l) => wrapText(l, width, PAPER_CONFIG.title.subtitleFontSize));
  }
  return out;
}

/** The usable width of a paper-size figure (inside the padding). */
function innerWidth(size: FigureSize): number {
  return FIGURE_WIDTH_PX[size] - 2 * PAPER_CONFIG.padding;
}

/** Width of a legend on the right (symbol, label, padding). */
function rightLegendWidth(legendLabels: readonly string[], legendTitle = ''): number {
  if (legendLabels.length === 0) return 0;
  const w = Math.max(textWidthEstimate(legendTitle, PAPER_CONFIG.legend.titleFontSize), ...legendLabels.map((l) => textWidthEstimate(l, PAPER_CONFIG.legend.labelFontSize) + 18));
  return Math.ceil(w) + 18;
}

/** Whether the legend goes below the plot: always in a column figure, in a page figure when it would take over 30 % of the width. */
function legendBelow(size: FigureSize, legendLabels: readonly string[]): boolean {
  return size === 'column' || rightLegendWidth(legendLabels) > 0.3 * innerWidth(size);
}

/** Room a legend on the right takes (none when it goes below). */
function legendRoom(size: FigureSize, legendLabels: readonly string[], legendTitle = ''): number {
  return legendBelow(size, legendLabels) ? 0 : rightLegendWidth(legendLabels, legendTitle);
}

/** The config of a figure: PLOT_CONFIG, or PAPER_CONFIG with the legend below the plot (in as many columns as fit) in a column figure. */
function configFor(size: FigureSize | undefined, legendLabels: readonly string[] = []): Record<string, unknown> {
  if (size === undefined) return PLOT_CONFIG as unknown as Record<string, unknown>;
  if (!legendBelow(size, legendLabels)) return PAPER_CONFIG as unknown as Record<string, unknown>;
  const longest = Math.max(0, ...legendLabels.map((l) => textWidthEstimate(String(l), PAPER_CONFIG.legend.labelFontSize)));
  const perEntry = longest + 18 + PAPER_CONFIG.legend.columnPadding; // symbol and gap, then the space between columns
  const columns = Math.max(1, Math.min(legendLabels.length || 1, Math.floor(innerWidth(size) / perEntry)));
  return { ...PAPER_CONFIG, legend: { ...PAPER_CONFIG.legend, orient: 'bottom', direction: 'vertical', columns } };
}

/** Legend labels of a colour encoding: its fixed order, or the distinct values of its field. */
function legendLabelsOf(rows: readonly Row[], series: string | undefined, order: readonly string[] | undefined): string[] {
  if (series === undefined) return [];
  return order !== undefined ? [...order] : [...new Set(rows.map((r) => String(r[series])))];
}

/** The colour legend's title of a chart body (empty when there is none). */
function legendTitleOf(body: Record<string, unknown>): string {
  const c = (body.encoding as Enc | undefined)?.color;
  return typeof c?.title === 'string' ? c.title : '';
}

function topLevel(op: string, c: ChartCommon, notes: readonly string[], body: Record<string, unknown>, legendLabels: readonly string[] = []): VegaLiteSpec {
  if (typeof c.title !== 'string') throw new ConfigError(op, `title must be a string`);
  const size = checkFigureSize(op, c.size);
  const title = titleOf(c.title, c.subtitle, notes);
  if (size === undefined) {
    return { $schema: SCHEMA_URL, title, ...body, config: PLOT_CONFIG } as unknown as VegaLiteSpec;
  }
  const W = innerWidth(size);
  const sized: Record<string, unknown> = { ...body };
  if (typeof body.width === 'number') {
    // The plot area takes what the y axis and a right-hand legend leave of the figure's width (the
    // renderer then scales the SVG to the exact width; the estimate keeps that within a few %).
    sized.width = Math.round(W - PAPER_Y_AXIS_ROOM - legendRoom(size, legendLabels, legendTitleOf(body)));
    sized.height = checkSize(op, 'height', c.height) ?? Math.round(0.62 * (sized.width as number));
  }
  return {
    $schema: SCHEMA_URL,
    title: wrappedTitle(title, W),
    ...sized,
    config: configFor(size, legendLabels),
  } as unknown as VegaLiteSpec;
}

function checkRows(op: string, rows: readonly Row[]): void {
  if (!Array.isArray(rows)) throw new ConfigError(op, 'rows must be an array of objects');
  if (rows.length === 0) throw new ConfigError(op, 'rows is empty: nothing to plot');
}

// ---------------------------------------------------------------------------------------------
// Line chart with bands

export interface LineChartWithBandsOptions extends ChartCommon {
  /** x axis (e.g. the step); its values must be numbers. */
  readonly x: AxisField;
  /** y axis: `field` is the line (e.g. the mean over seeds). */
  readonly y: AxisField;
  /** Field naming the series (one line and one band per value, e.g. the method). */
  readonly series: string;
  readonly seriesTitle?: string;
  readonly seriesOrder?: readonly string[];
  readonly rows: readonly Row[];
  /**
   * Band fields (min/max over seeds, or mean ± sd computed by the caller); default `{ lo: 'lo',
   * hi: 'hi' }`; `null` for lines only.
   */
  readonly band?: { readonly lo: string; readonly hi: string } | null;
  /** Draw a point at each data point too (useful with few x values). */
  readonly points?: boolean;
  /** Where values <= 0 are drawn on a log y axis (default: the smallest positive y in the data). */
  readonly logFloor?: number;
}

/**
 * One line per series (y.field against x.field) with a shaded band between `band.lo` and
 * `band.hi`, in the series' colour; optional log scales on either axis.
 */
export function lineChartWithBands(o: LineChartWithBandsOptions): VegaLiteSpec {
  const op = 'lineChartWithBands';
  checkRows(op, o.rows);
  checkField(op, 'x', o.x.field);
  checkField(op, 'y', o.y.field);
  checkField(op, 'series', o.series);
  checkDomain(op, o.x);
  checkDomain(op, o.y);
  const band = o.band === undefined ? { lo: 'lo', hi: 'hi' } : o.band;
  if (band !== null) {
    checkField(op, 'band.lo', band.lo);
    checkField(op, 'band.hi', band.hi);
    const missing = o.rows.findIndex((r) => !(band.lo in r) || !(band.hi in r));
    if (missing >= 0) {
      throw new ConfigError(op, `row ${missing} has no '${band.lo}' / '${band.hi}' band fields (pass band: null for lines only, or band: { lo, hi } to name them)`);
    }
  }
  const yFields = band === null ? [o.y.field] : [o.y.field, band.lo, band.hi];
  const py = prepareNumericFields(op, o.rows, yFields, 'y', isLog(o.y), o.logFloor);
  const px = prepareNumericFields(op, py.rows, [o.x.field], 'x', isLog(o.x));
  const width = checkSize(op, 'width', o.width) ?? DEFAULT_WIDTH;
  const height = checkSize(op, 'height', o.height) ?? DEFAULT_HEIGHT;

  const x = { field: o.x.field, type: 'quantitative', title: o.x.title, scale: scaleOf(o.x, false), axis: axisOf(o.x, px.range, distinctValues(px.rows, o.x.field)) };
  const yScale = scaleOf(o.y, false);
  // One legend, drawn with line symbols (not the pale band fill the first layer would give it).
  const color = { ...colorEncoding(o.series, o.seriesTitle, o.seriesOrder), legend: { symbolType: 'stroke', symbolStrokeWidth: 3, symbolOpacity: 1, symbolFillOpacity: 0 } };
  const layer: Record<string, unknown>[] = [];
  if (band !== null) {
    layer.push({
      mark: { type: 'area', opacity: 0.18, interpolate: 'linear' },
      encoding: {
        y: { field: band.lo, type: 'quantitative', title: o.y.title, scale: yScale, axis: axisOf(o.y, py.range) },
        y2: { field: band.hi },
        color,
      },
    });
  }
  layer.push({
    mark: { type: 'line', strokeWidth: 2, point: o.points === true ? { size: 24, filled: true } : false },
    encoding: { y: { field: o.y.field, type: 'quantitative', title: o.y.title, scale: yScale, axis: axisOf(o.y, py.range) } },
  });
  return topLevel(op, o, [...py.notes, ...px.notes], {
    width,
    height,
    data: { values: px.rows },
    encoding: { x, color },
    layer,
  }, legendLabelsOf(o.rows, o.series, o.seriesOrder));
}

// ---------------------------------------------------------------------------------------------
// Heat-map

export interface HeatmapOptions extends ChartCommon {
  /** The matrix to show (e.g. the Gram matrix U Vᵀ); row i is drawn as the i-th row from the top. */
  readonly matrix: Matrix | readonly (readonly number[])[];
  /** Colour range [min, max]; default symmetric [-m, m] with m = max |entry| (so 0 is the middle colour). */
  readonly colorDomain?: readonly [number, number];
  readonly colorTitle?: string;
  readonly rowTitle?: string;
  readonly colTitle?: string;
}

function matrixEntries(op: string, m: HeatmapOptions['matrix']): { rows: number; cols: number; at: (i: number, j: number) => number } {
  if (Array.isArray(m)) {
    const arr = m as readonly (readonly number[])[];
    const cols = arr.length === 0 ? 0 : arr[0]!.length;
    arr.forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== cols) throw new ShapeError(op, `row 0 has ${cols} entries but row ${i} has ${Array.isArray(row) ? row.length : 'none'}`);
    });
    return { rows: arr.length, cols, at: (i, j) => arr[i]![j]! };
  }
  const mm = m as Matrix;
  return { rows: mm.rows, cols: mm.cols, at: (i, j) => get(mm, i, j) };
}

/**
 * A heat-map of a matrix (entry (i, j) as a cell, row i from the top) on a diverging red–blue scale
 * centred at 0 (negative blue, positive red), with a colour legend.
 */
export function heatmap(o: HeatmapOptions): VegaLiteSpec {
  const op = 'heatmap';
  const { rows, cols, at } = matrixEntries(op, o.matrix);
  if (rows === 0 || cols === 0) throw new ShapeError(op, `matrix is ${rows}x${cols}: nothing to plot`);
  const values: { i: number; j: number; v: number }[] = [];
  let maxAbs = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const v = at(i, j);
      if (!Number.isFinite(v)) throw new NonFiniteError(op, `entry (${i}, ${j}) is ${v}`);
      maxAbs = Math.max(maxAbs, Math.abs(v));
      values.push({ i, j, v });
    }
  }
  let domain: [number, number];
  if (o.colorDomain !== undefined) {
    const [lo, hi] = o.colorDomain;
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) throw new DomainError(op, `colorDomain must be finite with min < max, got [${lo}, ${hi}]`);
    domain = [lo, hi];
  } else {
    const m = maxAbs > 0 ? maxAbs : 1;
    domain = [-m, m];
  }
  const colorScale: Record<string, unknown> = { scheme: 'redblue', reverse: true, domain, clamp: true };
  if (domain[0] < 0 && domain[1] > 0) colorScale.domainMid = 0;
  // Cells of 2..24 units so the matrix is at most ~420 units wide; label every k-th index.
  const n = Math.max(rows, cols);
  const size = checkFigureSize(op, o.size);
  const room = size === undefined ? 420 : FIGURE_WIDTH_PX[size] - 130; // axis, colour legend and padding
  const step = Math.max(2, Math.min(24, Math.floor(room / n)));
  const every = (len: number) => {
    const k = len <= 24 ? 1 : [2, 4, 5, 8, 10, 16, 20, 25, 32, 50, 64, 100, 128, 200, 250, 256, 500].find((c) => len / c <= 12) ?? Math.ceil(len / 12);
    const out: number[] = [];
    for (let t = 0; t < len; t += k) out.push(t);
    return out;
  };
  const notes: string[] = [];
  // Rounding past the range (e.g. a unit-row Gram diagonal at 1 + 2e-16 with range [-1, 1]) is not 'outside'.
  const slack = 1e-9 * (domain[1] - domain[0]);
  const outside = values.filter((c) => c.v < domain[0] - slack || c.v > domain[1] + slack).length;
  if (outside > 0) {
    notes.push(`${outside} ${outside === 1 ? 'entry' : 'entries'} outside the colour range [${fmtNum(domain[0])}, ${fmtNum(domain[1])}] shown in its end colours`);
  }
  return topLevel(op, o, notes, {
    width: { step },
    height: { step },
    data: { values },
    mark: { type: 'rect', aria: false }, // no per-cell aria-label: a 128x128 matrix would otherwise give a ~2.7 MB SVG
    encoding: {
      x: { field: 'j', type: 'ordinal', title: o.colTitle ?? 'column j', axis: { values: every(cols), labelAngle: 0, ticks: cols <= 24 } },
      y: { field: 'i', type: 'ordinal', title: o.rowTitle ?? 'row i', axis: { values: every(rows), ticks: rows <= 24 } },
      color: { field: 'v', type: 'quantitative', title: o.colorTitle ?? 'value', scale: colorScale, legend: { gradientLength: Math.max(80, Math.min(240, step * rows)), format: '~g' } },
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Scatter / strip plot

export interface ScatterChartOptions extends ChartCommon {
  /**
   * x axis. `type: 'nominal'` (or 'ordinal') makes a strip plot: one column per category (e.g. the
   * method) with the points spread sideways by a deterministic jitter.
   */
  readonly x: AxisField & {
    readonly type?: 'quantitative' | 'nominal' | 'ordinal';
    /** Order of the categories of a categorical x (default: `seriesOrder` when x is the series field, else sorted). */
    readonly order?: readonly (string | number)[];
  };
  readonly y: AxisField;
  readonly series?: string;
  readonly seriesTitle?: string;
  readonly seriesOrder?: readonly string[];
  readonly rows: readonly Row[];
  /** Join the points of each series in x order (e.g. "final value against B"). */
  readonly connect?: boolean;
  /** Sideways spread of a strip plot as a fraction of the column width (default 0.6; 0 = none). */
  readonly jitter?: number;
  readonly pointSize?: number;
  readonly logFloor?: number;
}

// Deterministic jitter in [-1, 1): the k-th point of a column goes to frac(k·φ) (a low-discrepancy sequence).
const GOLDEN = 0.6180339887498949;
function jitterOf(k: number): number {
  return 2 * ((k * GOLDEN) % 1) - 1;
}

/** Points (y.field against x.field), coloured by series; a strip plot when x is categorical. */
export function scatterChart(o: ScatterChartOptions): VegaLiteSpec {
  const op = 'scatterChart';
  checkRows(op, o.rows);
  checkField(op, 'x', o.x.field);
  checkField(op, 'y', o.y.field);
  if (o.series !== undefined) checkField(op, 'series', o.series);
  checkDomain(op, o.y);
  const xType = o.x.type ?? 'quantitative';
  if (xType !== 'quantitative' && o.x.scale !== undefined && o.x.scale !== 'linear') {
    throw new ConfigError(op, `x is ${xType}: a log scale needs a quantitative x`);
  }
  if (xType === 'quantitative') checkDomain(op, o.x);
  const jitter = o.jitter ?? 0.6;
  if (!(Number.isFinite(jitter) && jitter >= 0 && jitter <= 1)) throw new DomainError(op, `jitter must be in [0, 1], got ${jitter}`);
  const py = prepareNumericFields(op, o.rows, [o.y.field], 'y', isLog(o.y), o.logFloor);
  const px = xType === 'quantitative' ? prepareNumericFields(op, py.rows, [o.x.field], 'x', isLog(o.x)) : { rows: py.rows, notes: [], range: null };
  const rows = px.rows as Record<string, unknown>[];
  const width = checkSize(op, 'width', o.width) ?? DEFAULT_WIDTH;
  const height = checkSize(op, 'height', o.height) ?? DEFAULT_HEIGHT;
  const strip = xType !== 'quantitative' && jitter > 0;
  if (strip) {
    const seen = new Map<string, number>();
    for (const r of rows) {
      const key = JSON.stringify(r[o.x.field]);
      const k = seen.get(key) ?? 0;
      seen.set(key, k + 1);
      r.__jitter = jitterOf(k);
    }
  }
  const x: Record<string, unknown> = { field: o.x.field, type: xType, title: o.x.title };
  if (xType === 'quantitative') {
    x.scale = scaleOf(o.x, false);
    x.axis = axisOf(o.x, px.range, distinctValues(px.rows, o.x.field));
  } else {
    x.axis = { labelAngle: 0 };
    const order = o.x.order ?? (o.x.field === o.series ? o.seriesOrder : undefined);
    if (order !== undefined) x.sort = [...order];
  }
  const encoding: Record<string, unknown> = {
    x,
    y: { field: o.y.field, type: 'quantitative', title: o.y.title, scale: scaleOf(o.y, false), axis: axisOf(o.y, py.range) },
  };
  if (o.series !== undefined) encoding.color = colorEncoding(o.series, o.seriesTitle, o.seriesOrder);
  if (strip) encoding.xOffset = { field: '__jitter', type: 'quantitative', scale: { domain: [-1 / jitter, 1 / jitter] }, title: null };
  const pointMark = { type: 'point', filled: true, size: o.pointSize ?? 36, opacity: 0.8 };
  const body: Record<string, unknown> = { width, height, data: { values: rows }, encoding };
  if (o.connect === true) {
    body.layer = [{ mark: { type: 'line', strokeWidth: 1.5 } }, { mark: pointMark }];
  } else {
    body.mark = pointMark;
  }
  return topLevel(op, o, [...py.notes, ...px.notes], body, legendLabelsOf(o.rows, o.series, o.seriesOrder));
}

// ---------------------------------------------------------------------------------------------
// Bar chart and histogram

export interface BarChartOptions extends ChartCommon {
  /** Categories along x (e.g. the method, or B as a category). */
  readonly x: { readonly field: string; readonly title: string; readonly type?: 'nominal' | 'ordinal'; readonly order?: readonly (string | number)[] };
  readonly y: AxisField;
  /** Grouped bars: one bar per series inside each x category. */
  readonly series?: string;
  readonly seriesTitle?: string;
  readonly seriesOrder?: readonly string[];
  readonly rows: readonly Row[];
  /** Error bars from `lo` to `hi` (e.g. min/max over seeds). */
  readonly errorBars?: { readonly lo: string; readonly hi: string };
  readonly logFloor?: number;
}

/** Bars of y.field per x category (grouped by series when given), with optional error bars. */
export function barChart(o: BarChartOptions): VegaLiteSpec {
  const op = 'barChart';
  checkRows(op, o.rows);
  checkField(op, 'x', o.x.field);
  checkField(op, 'y', o.y.field);
  if (o.series !== undefined) checkField(op, 'series', o.series);
  checkDomain(op, o.y);
  const yFields = o.errorBars === undefined ? [o.y.field] : [o.y.field, o.errorBars.lo, o.errorBars.hi];
  const py = prepareNumericFields(op, o.rows, yFields, 'y', isLog(o.y), o.logFloor);
  const width = checkSize(op, 'width', o.width) ?? DEFAULT_WIDTH;
  const height = checkSize(op, 'height', o.height) ?? DEFAULT_HEIGHT;
  const x: Record<string, unknown> = { field: o.x.field, type: o.x.type ?? 'nominal', title: o.x.title, axis: { labelAngle: 0 } };
  if (o.x.order !== undefined) x.sort = [...o.x.order];
  const yScale = scaleOf(o.y);
  const encoding: Record<string, unknown> = { x };
  if (o.series !== undefined) {
    encoding.color = colorEncoding(o.series, o.seriesTitle, o.seriesOrder);
    encoding.xOffset = { field: o.series, type: 'nominal', ...(o.seriesOrder !== undefined ? { sort: [...o.seriesOrder], scale: { domain: [...o.seriesOrder] } } : {}) };
  }
  const layer: Record<string, unknown>[] = [
    // Not stacked: grouped bars side by side, and a log axis then needs no zero baseline.
    { mark: { type: 'bar' }, encoding: { y: { field: o.y.field, type: 'quantitative', title: o.y.title, scale: yScale, axis: axisOf(o.y, py.range), stack: null } } },
  ];
  if (o.errorBars !== undefined) {
    layer.push({
      mark: { type: 'rule', color: '#222', strokeWidth: 1.5 },
      encoding: { y: { field: o.errorBars.lo, type: 'quantitative', scale: yScale }, y2: { field: o.errorBars.hi }, color: { value: '#222' } },
    });
  }
  return topLevel(op, o, py.notes, { width, height, data: { values: py.rows }, encoding, layer }, legendLabelsOf(o.rows, o.series, o.seriesOrder));
}

export interface HistogramOptions extends ChartCommon {
  /** The values to bin (e.g. the final loss of each seed). */
  readonly value: { readonly field: string; readonly title: string };
  /** Stacked bars coloured by series. */
  readonly series?: string;
  readonly seriesTitle?: string;
  readonly seriesOrder?: readonly string[];
  readonly rows: readonly Row[];
  /** Most bins (default 20; Vega-Lite picks "nice" bin edges). */
  readonly maxbins?: number;
}

/** A histogram of value.field (count per bin), stacked by series when given. */
export function histogram(o: HistogramOptions): VegaLiteSpec {
  const op = 'histogram';
  checkRows(op, o.rows);
  checkField(op, 'value', o.value.field);
  if (o.series !== undefined) checkField(op, 'series', o.series);
  const maxbins = o.maxbins ?? 20;
  if (!(Number.isInteger(maxbins) && maxbins >= 2 && maxbins <= 500)) throw new DomainError(op, `maxbins must be an integer in [2, 500], got ${maxbins}`);
  const p = prepareNumericFields(op, o.rows, [o.value.field], 'values', false);
  const width = checkSize(op, 'width', o.width) ?? DEFAULT_WIDTH;
  const height = checkSize(op, 'height', o.height) ?? DEFAULT_HEIGHT;
  const encoding: Record<string, unknown> = {
    x: { field: o.value.field, type: 'quantitative', bin: { maxbins }, title: o.value.title },
    y: { aggregate: 'count', type: 'quantitative', title: 'count', axis: { tickMinStep: 1 } },
  };
  if (o.series !== undefined) encoding.color = colorEncoding(o.series, o.seriesTitle, o.seriesOrder);
  return topLevel(op, o, p.notes, { width, height, data: { values: p.rows }, mark: { type: 'bar', binSpacing: 1 }, encoding }, legendLabelsOf(o.rows, o.series, o.seriesOrder));
}

// ---------------------------------------------------------------------------------------------
// Panels

export interface PanelGridOptions {
  readonly title?: string;
  readonly subtitle?: string | readonly string[];
  /** Panels per row (default: up to 3). */
  readonly columns?: number;
  /**
   * Scales each panel keeps to itself, besides the x / y scales that cannot be shared: x (or y) is
   * shared only when every panel's x (y) axis is quantitative with the same title and scale type —
   * the panels share a metric, and one range lets them be compared by eye. The colour scale is always shared unless listed (one legend, the
   * same colour for a series in every panel). Heat-maps with different colour ranges want 'color'.
   */
  readonly independent?: readonly ('color' | 'x' | 'y')[];
  /** The whole grid `FIGURE_WIDTH_PX.column` or `.page` wide: the panels' widths are set to fit (see ChartCommon.size). */
  readonly size?: FigureSize;
}

type Enc = Record<string, Record<string, unknown> | undefined>;

/** Every encoding block of a panel (its own and its layers'). */
function encodingsOf(panel: Record<string, unknown>): Enc[] {
  const out: Enc[] = [];
  if (panel.encoding !== undefined) out.push(panel.encoding as Enc);
  for (const l of (panel.layer as Record<string, unknown>[] | undefined) ?? []) if (l.encoding !== undefined) out.push(l.encoding as Enc);
  return out;
}

/** What a panel's x or y axis shows: title, type and scale type of the first encoding of that channel. */
function channelSignature(panel: Record<string, unknown>, ch: 'x' | 'y'): string | undefined {
  for (const e of encodingsOf(panel)) {
    const c = e[ch];
    if (c !== undefined && 'field' in c) {
      if (c.title === null || (c.axis as Record<string, unknown> | undefined)?.title === null) return undefined; // hidden axes (e.g. a projected 3-D view): nothing to share
      const scale = (c.scale ?? {}) as Record<string, unknown>;
      return JSON.stringify([c.title ?? null, c.type ?? null, scale.type ?? 'linear', scale.base ?? null]);
    }
  }
  return undefined;
}

/** The colour legend's labels of a panel (fixed domain, or the distinct values of the colour field). */
function panelLegendLabels(panel: Record<string, unknown>): string[] {
  for (const e of encodingsOf(panel)) {
    const c = e.color;
    if (c === undefined || c.legend === null || typeof c.field !== 'string' || c.type !== 'nominal') continue;
    const dom = (c.scale as Record<string, unknown> | undefined)?.domain;
    if (Array.isArray(dom)) return dom.map(String);
    const values = ((panel.data as { values?: Row[] } | undefined)?.values ?? []);
    return [...new Set(values.map((r) => String(r[c.field as string])))];
  }
  return [];
}

/**
 * One figure holding several charts (e.g. one panel per (N, d) configuration), laid out in a grid
 * whose panels line up (`align: 'all'`). Each panel keeps its own data and title; the figure's
 * title, if any, goes on top. Panels that share a metric share their x and y scales (see
 * `independent`); ticks the panels set themselves (data ticks, log decades) are merged.
 *
 * @example
 *   panelGrid(configs.map((c) => lineChartWithBands({ title: `N=${c.n}, d=${c.d}`, ... })), { title: 'Gap to the optimum', columns: 2 })
 */
export function panelGrid(charts: readonly VegaLiteSpec[], o: PanelGridOptions = {}): VegaLiteSpec {
  const op = 'panelGrid';
  if (!Array.isArray(charts) || charts.length === 0) throw new ConfigError(op, 'no charts to lay out');
  const columns = o.columns ?? Math.min(3, charts.length);
  if (!(Number.isInteger(columns) && columns >= 1)) throw new DomainError(op, `columns must be a positive integer, got ${columns}`);
  const size = checkFigureSize(op, o.size);
  const spacing = size === undefined ? 24 : 12;
  const panels = charts.map((c) => {
    const { $schema: _s, config: _c, autosize: _a, ...rest } = JSON.parse(JSON.stringify(c)) as Record<string, unknown>;
    void _s;
    void _c;
    void _a;
    return rest;
  });
  const independent = new Set<'color' | 'x' | 'y'>([...(o.independent ?? []), ...(['x', 'y'] as const).filter((ch) => {
    // Quantitative axes only (shared ordinal scales of step-sized heat-maps break Vega-Lite's layout).
    const sig = panels.map((p) => channelSignature(p, ch));
    return !(sig[0] !== undefined && sig.every((s) => s === sig[0]) && JSON.parse(sig[0])[1] === 'quantitative');
  })]);
  // Shared position scales: one set of tick values for every panel (the union of the panels' own).
  for (const ch of ['x', 'y'] as const) {
    if (independent.has(ch)) continue;
    const all = panels.flatMap((p) => encodingsOf(p).map((e) => e[ch]).filter((c): c is Record<string, unknown> => c !== undefined && typeof c.axis === 'object' && c.axis !== null));
    const lists = all.map((c) => (c.axis as Record<string, unknown>).values).filter((v): v is number[] => Array.isArray(v));
    if (lists.length === 0) continue;
    const union = [...new Set(lists.flat())].sort((a, b) => a - b);
    for (const c of all) if (Array.isArray((c.axis as Record<string, unknown>).values)) c.axis = { ...(c.axis as object), values: union };
  }
  const legendLabels = [...new Set(independent.has('color') ? [] : panels.flatMap(panelLegendLabels))];
  if (size !== undefined) {
    const W = innerWidth(size);
    const cols = Math.min(columns, panels.length);
    // Room per panel for its y axis (none for panels without axes), and for a legend on the right of a page figure.
    const room = legendRoom(size, legendLabels, panels.map((p) => legendTitleOf(p)).find((t) => t !== '') ?? '');
    const axisRoom = (p: Record<string, unknown>) => (channelSignature(p, 'y') === undefined ? 0 : PAPER_Y_AXIS_ROOM);
    const yRoom = Math.max(...panels.map(axisRoom));
    const panelWidth = Math.max(40, Math.floor((W - room - (cols - 1) * spacing) / cols - yRoom));
    for (const p of panels) {
      if (typeof p.width === 'number') {
        const h = typeof p.height === 'number' ? p.height : 0.62 * panelWidth;
        p.height = Math.round(p.height === p.width ? panelWidth : Math.min(h, 0.75 * panelWidth));
        p.width = panelWidth;
      }
      if (p.title !== undefined) p.title = wrappedTitle(p.title as Record<string, unknown>, panelWidth + yRoom);
    }
  }
  const spec: Record<string, unknown> = { $schema: SCHEMA_URL };
  if (o.title !== undefined) {
    const t = titleOf(o.title, o.subtitle, []);
    spec.title = size === undefined ? t : wrappedTitle(t, innerWidth(size));
  }
  spec.columns = columns;
  spec.concat = panels;
  spec.spacing = spacing;
  spec.align = 'all';
  const scale: Record<string, string> = {};
  for (const ch of ['x', 'y'] as const) scale[ch] = independent.has(ch) ? 'independent' : 'shared';
  if (independent.has('color')) scale.color = 'independent';
  spec.resolve = { scale };
  spec.config = configFor(size, legendLabels);
  return spec as unknown as VegaLiteSpec;
}
