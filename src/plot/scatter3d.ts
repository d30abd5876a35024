/**
 * A 3-D scatter drawn as a 2-D orthographic view (Vega-Lite has no 3-D marks): points in R³ are
 * turned by an azimuth (about z) and an elevation (about the screen's horizontal axis), then
 * projected onto the screen plane. Nearer points are drawn later and larger; optional guides: the
 * unit sphere's outline (a circle under any orthographic view), its equator (front half solid, back
 * half dashed) and a spoke from the origin to each point.
 *
 * @example
 *   scatter3dChart({ title: 'End point, full batch', points: U, labels: ['u1', 'u2', 'u3', 'u4'] })
 */
import { ConfigError, DomainError, NonFiniteError, ShapeError } from '../core/errors.ts';
import { get, type Matrix } from '../core/matrix.ts';
import { type ChartCommon, FIGURE_WIDTH_PX, PAPER_CONFIG, PLOT_CONFIG, SCHEMA_URL, wrapText } from './charts.ts';
import type { VegaLiteSpec } from './spec.ts';

export interface Scatter3dOptions extends ChartCommon {
  /** The points: an n x 3 matrix or n rows of 3 numbers. */
  readonly points: Matrix | readonly (readonly number[])[];
  /** One text label per point (drawn beside it). */
  readonly labels?: readonly string[];
  /** One series name per point (colour and shape), e.g. 'u' / 'v'. */
  readonly series?: readonly string[];
  readonly seriesTitle?: string;
  readonly seriesOrder?: readonly string[];
  /** View direction: azimuth about z and elevation above the xy-plane, in degrees (default 35 and 20). */
  readonly azimuthDeg?: number;
  readonly elevationDeg?: number;
  /** Draw the unit sphere's outline and equator (default true). */
  readonly sphere?: boolean;
  /** Draw a line from the origin to each point (default true). */
  readonly spokes?: boolean;
}

export interface ProjectedPoint {
  /** Screen coordinates (right, up) and depth (towards the viewer). */
  readonly x: number;
  readonly y: number;
  readonly depth: number;
}

function pointsOf(op: string, p: Scatter3dOptions['points']): number[][] {
  let rows: number[][];
  if (Array.isArray(p)) rows = (p as readonly (readonly number[])[]).map((r) => [...r]);
  else {
    const m = p as Matrix;
    rows = Array.from({ length: m.rows }, (_, i) => Array.from({ length: m.cols }, (_, j) => get(m, i, j)));
  }
  if (rows.length === 0) throw new ShapeError(op, 'no points to plot');
  rows.forEach((r, i) => {
    if (r.length !== 3) throw new ShapeError(op, `point ${i} has ${r.length} coordinates, expected 3`);
    if (!r.every(Number.isFinite)) throw new NonFiniteError(op, `point ${i} has a non-finite coordinate`);
  });
  return rows;
}

/** The orthographic view used by scatter3dChart: screen (x, y) and depth of a point for the given angles. */
export function projectPoint(p: readonly number[], azimuthDeg: number, elevationDeg: number): ProjectedPoint {
  const a = (azimuthDeg * Math.PI) / 180;
  const e = (elevationDeg * Math.PI) / 180;
  // Turn about z by the azimuth; the camera starts on the −y' axis (x' right, z up), then rises by the
  // elevation: direction to the camera c = (0, −cos e, sin e), screen up = (0, sin e, cos e).
  const x1 = Math.cos(a) * p[0]! + Math.sin(a) * p[1]!;
  const y1 = -Math.sin(a) * p[0]! + Math.cos(a) * p[1]!;
  const z1 = p[2]!;
  return { x: x1, y: Math.sin(e) * y1 + Math.cos(e) * z1, depth: -Math.cos(e) * y1 + Math.sin(e) * z1 };
}

/** A 3-D scatter as a projected 2-D view (see the module comment). */
export function scatter3dChart(o: Scatter3dOptions): VegaLiteSpec {
  const op = 'scatter3dChart';
  if (typeof o.title !== 'string') throw new ConfigError(op, 'title must be a string');
  const pts = pointsOf(op, o.points);
  const az = o.azimuthDeg ?? 35;
  const el = o.elevationDeg ?? 20;
  if (!(Number.isFinite(az) && Number.isFinite(el) && Math.abs(el) <= 90)) throw new DomainError(op, `azimuth must be finite and |elevation| <= 90, got ${az}, ${el}`);
  for (const [name, arr] of [['labels', o.labels], ['series', o.series]] as const) {
    if (arr !== undefined && arr.length !== pts.length) throw new ConfigError(op, `${name} has ${arr.length} entries for ${pts.length} points`);
  }
  if (o.size !== undefined && o.size !== 'column' && o.size !== 'page') throw new ConfigError(op, `size must be 'column' or 'page', got ${JSON.stringify(o.size)}`);
  // A paper size: the square view fills the width (no axes; a legend, if any, below it).
  const size = o.size === undefined ? (o.width ?? 260) : FIGURE_WIDTH_PX[o.size] - 2 * PAPER_CONFIG.padding - (o.series !== undefined && o.size === 'page' ? 90 : 0);
  if (!(Number.isFinite(size) && size >= 10 && size <= 10000)) throw new DomainError(op, `width must be in [10, 10000], got ${size}`);
  const radius = Math.max(1, ...pts.map((p) => Math.hypot(p[0]!, p[1]!, p[2]!)));
  const lim = 1.15 * radius;
  const scale = { domain: [-lim, lim], nice: false, zero: false };
  const hidden = { labels: false, ticks: false, domain: false, grid: false, title: null };

  const proj = pts.map((p) => projectPoint(p, az, el));
  const depths = proj.map((q) => q.depth);
  const dMin = Math.min(...depths);
  const dMax = Math.max(...depths);
  const near = (d: number) => (dMax - dMin < 1e-12 ? 1 : (d - dMin) / (dMax - dMin));
  const rows = proj.map((q, i) => ({
    x: q.x, y: q.y, depth: q.depth, near: near(q.depth), order: i,
    label: o.labels?.[i] ?? '', series: o.series?.[i] ?? 'point',
  }));

  const layers: Record<string, unknown>[] = [];
  if (o.sphere ?? true) {
    const circle: Record<string, unknown>[] = [];
    const equator: Record<string, unknown>[] = [];
    const K = 96;
    let seg = 0;
    let prev: 'front' | 'back' | null = null;
    for (let k = 0; k <= K; k++) {
      const t = (2 * Math.PI * k) / K;
      circle.push({ k, x: radius * Math.cos(t), y: radius * Math.sin(t) });
      const q = projectPoint([radius * Math.cos(t), radius * Math.sin(t), 0], az, el);
      const side = q.depth >= 0 ? 'front' : 'back';
      if (prev !== null && side !== prev) {
        equator.push({ k, x: q.x, y: q.y, side: prev, seg }); // close the old piece where the new one starts
        seg++;
      }
      equator.push({ k, x: q.x, y: q.y, side, seg });
      prev = side;
    }
    const xy = { x: { field: 'x', type: 'quantitative', scale, axis: hidden }, y: { field: 'y', type: 'quantitative', scale, axis: hidden } };
    layers.push({ data: { values: circle }, mark: { type: 'line', color: '#999', strokeWidth: 1 }, encoding: { ...xy, order: { field: 'k' } } });
    // The equator in pieces: the half facing the viewer solid, the far half dashed.
    layers.push({
      data: { values: equator },
      mark: { type: 'line', color: '#bbb', strokeWidth: 1 },
      encoding: {
        ...xy, order: { field: 'k' }, detail: { field: 'seg', type: 'nominal' },
        strokeDash: { field: 'side', type: 'nominal', scale: { domain: ['front', 'back'], range: [[1, 0], [3, 3]] }, legend: null },
      },
    });
  }
  const color: Record<string, unknown> = { field: 'series', type: 'nominal', title: o.seriesTitle ?? 'series' };
  if (o.seriesOrder !== undefined) color.scale = { domain: [...o.seriesOrder] };
  if (o.series === undefined) color.legend = null;
  if (o.spokes ?? true) {
    layers.push({
      data: { values: rows.map((r) => ({ ...r, x0: 0, y0: 0 })) },
      mark: { type: 'rule', strokeWidth: 1, opacity: 0.5 },
      encoding: {
        x: { field: 'x0', type: 'quantitative', scale, axis: hidden }, y: { field: 'y0', type: 'quantitative', scale, axis: hidden },
        x2: { field: 'x' }, y2: { field: 'y' }, color,
      },
    });
  }
  const sorted = [...rows].sort((a, b) => a.depth - b.depth || a.order - b.order);
  layers.push({
    data: { values: sorted },
    mark: { type: 'point', filled: true, stroke: 'white', strokeWidth: 0.8 },
    encoding: {
      x: { field: 'x', type: 'quantitative', scale, axis: hidden }, y: { field: 'y', type: 'quantitative', scale, axis: hidden },
      color, shape: { field: 'series', type: 'nominal', ...(o.series === undefined ? { legend: null } : {}) },
      size: { field: 'near', type: 'quantitative', scale: { domain: [0, 1], range: [50, 160] }, legend: null },
      opacity: { field: 'near', type: 'quantitative', scale: { domain: [0, 1], range: [0.55, 1] }, legend: null },
      order: { field: 'depth' },
    },
  });
  if (o.labels !== undefined) {
    layers.push({
      data: { values: sorted },
      mark: { type: 'text', dx: 8, dy: -8, fontSize: 11, align: 'left' },
      encoding: { x: { field: 'x', type: 'quantitative', scale, axis: hidden }, y: { field: 'y', type: 'quantitative', scale, axis: hidden }, text: { field: 'label' } },
    });
  }
  const sub = [...(o.subtitle === undefined ? [] : typeof o.subtitle === 'string' ? [o.subtitle] : o.subtitle), `view: azimuth ${az}°, elevation ${el}°`];
  const W = o.size === undefined ? undefined : FIGURE_WIDTH_PX[o.size] - 2 * PAPER_CONFIG.padding;
  const title = W === undefined ? { text: o.title, subtitle: sub }
    : { text: wrapText(o.title, W, PAPER_CONFIG.title.fontSize, true), subtitle: sub.flatMap((l) => wrapText(l, W, PAPER_CONFIG.title.subtitleFontSize)) };
  const height = o.size === undefined ? (o.height ?? size) : Math.min(o.height ?? size, size);
  return {
    $schema: SCHEMA_URL,
    title,
    width: size, height,
    view: { stroke: null }, // also inside a panelGrid, which drops the config
    layer: layers,
    config: o.size === undefined ? { ...PLOT_CONFIG, view: { stroke: null } }
      : { ...PAPER_CONFIG, view: { stroke: null }, ...(o.size === 'column' ? { legend: { ...PAPER_CONFIG.legend, orient: 'bottom' } } : {}) },
  } as unknown as VegaLiteSpec;
}
