/**
 * Figures without a browser: Vega-Lite spec → (vega-lite compile) → Vega View with renderer
 * 'none' → `view.toSVG()` → PNG through resvg (`@resvg/resvg-js`, a Rust SVG renderer).
 *
 * Determinism: the same spec gives byte-identical SVG and PNG on one machine. Vega numbers its
 * clip paths and gradients with module-level counters, so every render resets them and renders run
 * one at a time (a promise queue); text widths come from a fixed estimate for DejaVu Sans
 * (`textWidthEstimate`: 0.62·fontSize per character, 0.7 bold — Vega's own 0.8 leaves wide empty
 * margins), never from a `canvas` package that might happen to be installed. PNG bytes depend on
 * the font files found (see `plotFonts`).
 *
 * Paper sizes (`size: 'column' | 'page'`): the SVG is exactly 3.25 in or 6.75 in wide at 72 px/in
 * (234 or 486 units; a figure laid out wider or narrower is scaled to that width through its
 * viewBox, with a warning when it had to shrink by more than 10 %), the PNG is rendered at `scale`
 * (default 4, i.e. 288 dpi) and the SVG's text is turned into outlines by resvg (the glyphs of the
 * fonts resvg was given), so the file needs no fonts where it is shown. Without `size` the SVG keeps
 * its text as <text> naming `DejaVu Sans, sans-serif` (searchable; the viewer's font is used) and
 * only the PNG has the glyphs drawn in; `outlineText: true` outlines it anyway.
 *
 * Fonts: the specs ask for `DejaVu Sans, sans-serif`. resvg is given the DejaVu Sans TTFs when they
 * are found (Debian/Ubuntu package `fonts-dejavu-core`, also the usual Fedora/Arch/macOS places);
 * `CONTRASTLAB_PLOT_FONTS` (a list of .ttf/.otf files separated by ':' — ';' on Windows) overrides
 * the search; without either, resvg loads the system fonts and falls back to whatever sans-serif it
 * finds (or renders no text at all on a machine without fonts).
 *
 * @example
 *   const { svg, png, width, height } = await renderVegaLite(lineChartWithBands({...}));
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Resvg, type ResvgRenderOptions } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { ConfigError, DomainError } from '../core/errors.ts';
import { FIGURE_WIDTH_PX, type FigureSize, textWidthEstimate } from './charts.ts';

import { PLOT_FONT_FAMILY, type VegaLiteSpec } from './spec.ts';

export { PLOT_FONT_FAMILY, type VegaLiteSpec } from './spec.ts';

/** Which font files resvg gets and where they came from. */
export interface PlotFonts {
  /** `dejavu`: DejaVu Sans files found on disk; `env`: CONTRASTLAB_PLOT_FONTS; `system`: resvg scans the system fonts. */
  readonly source: 'dejavu' | 'env' | 'system';
  readonly files: readonly string[];
}

const DEJAVU_DIRS = [
  '/usr/share/fonts/truetype/dejavu', // Debian, Ubuntu (fonts-dejavu-core)
  '/usr/share/fonts/dejavu-sans-fonts', // Fedora
  '/usr/share/fonts/dejavu', // older Fedora, openSUSE
  '/usr/share/fonts/TTF', // Arch
  '/usr/local/share/fonts',
  '/opt/homebrew/share/fonts',
  '/Library/Fonts',
  join(homedir(), 'Library/Fonts'),
  join(homedir(), '.local/share/fonts'),
];
const DEJAVU_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'];

let cachedFonts: PlotFonts | null = null;

/** The fonts resvg is given (resolved once per process; see the module comment). */
export function plotFonts(): PlotFonts {
  if (cachedFonts !== null) return cachedFonts;
  const env = process.env.CONTRASTLAB_PLOT_FONTS;
  if (env !== undefined && env.trim() !== '') {
    const files = env.split(delimiter).map((s) => s.trim()).filter((s) => s !== '');
    const missing = files.filter((f) => !existsSync(f));
    if (missing.length > 0) throw new ConfigError('plotFonts', `CONTRASTLAB_PLOT_FONTS names missing files: ${missing.join(', ')}`);
    cachedFonts = { source: 'env', files };
    return cachedFonts;
  }
  for (const dir of DEJAVU_DIRS) {
    const files = DEJAVU_FILES.map((f) => join(dir, f));
    if (existsSync(files[0]!)) {
      cachedFonts = { source: 'dejavu', files: files.filter((f) => existsSync(f)) };
      return cachedFonts;
    }
  }
  cachedFonts = { source: 'system', files: [] };
  return cachedFonts;
}

function resvgFontOptions(fonts: PlotFonts): NonNullable<ResvgRenderOptions['font']> {
  if (fonts.source === 'system') return { loadSystemFonts: true, sansSerifFamily: PLOT_FONT_FAMILY, defaultFontFamily: PLOT_FONT_FAMILY };
  // Only the named files: faster than scanning the system, and the same PNG wherever they are the same files.
  return { loadSystemFonts: false, fontFiles: [...fonts.files], sansSerifFamily: PLOT_FONT_FAMILY, defaultFontFamily: PLOT_FONT_FAMILY };
}

export interface RenderOptions {
  /** PNG pixels per SVG unit (default 2, or 4 with `size`: a 400-unit-wide chart becomes an 800-pixel PNG). */
  readonly scale?: number;
  /**
   * Paper size: the SVG is made exactly `FIGURE_WIDTH_PX[size]` units wide (3.25 in or 6.75 in at
   * 72 px/in) and its text outlined; build the spec with the same `size` so it is laid out for it.
   */
  readonly size?: FigureSize;
  /** Replace the SVG's text by outlines of the glyphs (default: true with `size`, else false). */
  readonly outlineText?: boolean;
}

export interface RenderedFigure {
  /** Standalone SVG document (UTF-8 text). */
  readonly svg: string;
  /** PNG file bytes. */
  readonly png: Uint8Array;
  /** PNG size in pixels (the SVG's size times `scale`, rounded by resvg). */
  readonly width: number;
  readonly height: number;
  /** Warnings vega-lite and Vega logged while compiling and rendering (e.g. dropped invalid values). */
  readonly warnings: readonly string[];
}

interface TextItem { fontSize?: number | string; fontWeight?: number | string }
interface VegaTextMetrics { canvas(use: boolean): void; width: (item: TextItem, text: unknown) => number }

function isBold(item: TextItem): boolean {
  const w = item.fontWeight;
  return w === 'bold' || w === 'bolder' || (typeof w === 'number' && w >= 600) || (typeof w === 'string' && Number(w) >= 600);
}

/** Vega's text width: the DejaVu Sans estimate of charts.ts (the titles were wrapped with it too). */
function estimateTextWidth(item: TextItem, text: unknown): number {
  const t = text === null || text === undefined ? '' : String(text).trim();
  const size = item.fontSize !== undefined && item.fontSize !== null ? Number(item.fontSize) || 0 : 11;
  return textWidthEstimate(t, size, isBold(item));
}

/** Sets the root <svg>'s width to `width` units (height in proportion), keeping the drawing through a viewBox. */
function resizeSvg(svg: string, width: number): { svg: string; factor: number } {
  const m = /^<svg([^>]*?) width="([\d.]+)" height="([\d.]+)"( viewBox="[^"]*")?/.exec(svg);
  if (m === null) throw new ConfigError('renderVegaLite', 'the SVG has no width and height to resize');
  const w0 = Number(m[2]);
  const h0 = Number(m[3]);
  const factor = width / w0;
  const height = Math.round(h0 * factor * 100) / 100;
  const head = `<svg${m[1]} width="${width}" height="${height}" viewBox="0 0 ${w0} ${h0}"`;
  return { svg: head + svg.slice(m[0].length), factor };
}

async function renderNow(spec: VegaLiteSpec, scale: number, size: FigureSize | undefined, outline: boolean): Promise<RenderedFigure> {
  const warnings: string[] = [];
  const logger = vega.logger(vega.Warn, undefined, (_method, level, args) => {
    warnings.push(`${level} ${args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ')}`);
  });
  let vgSpec;
  try {
    vgSpec = compile(spec, { logger }).spec;
  } catch (e) {
    throw new ConfigError('renderVegaLite', `vega-lite could not compile the spec: ${(e as Error).message}`);
  }
  // Widths from Vega's estimate even if the optional `canvas` package is present (same SVG everywhere).
  const metrics = (vega as unknown as { textMetrics?: VegaTextMetrics }).textMetrics;
  metrics?.canvas(false);
  if (metrics !== undefined) metrics.width = estimateTextWidth;
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none', logger });
  try {
    vega.resetSVGDefIds();
    let svg = await view.toSVG();
    if (size !== undefined) {
      const r = resizeSvg(svg, FIGURE_WIDTH_PX[size]);
      if (r.factor < 0.9) warnings.push(`size ${size}: the figure was laid out ${Math.round(FIGURE_WIDTH_PX[size] / r.factor)} units wide and is shrunk to ${FIGURE_WIDTH_PX[size]} (text ${Math.round(100 * r.factor)} % of its size); build the spec with size '${size}'`);
      svg = r.svg;
    }
    const resvg = new Resvg(svg, { fitTo: { mode: 'zoom', value: scale }, font: resvgFontOptions(plotFonts()) });
    const rendered = resvg.render();
    const png = new Uint8Array(rendered.asPng());
    if (outline) svg = resvg.toString();
    return { svg, png, width: rendered.width, height: rendered.height, warnings };
  } finally {
    view.finalize();
  }
}

// Renders run one at a time: Vega's SVG id counters are module-global (see the module comment).
let queue: Promise<unknown> = Promise.resolve();

/**
 * Renders a Vega-Lite spec to SVG text and PNG bytes, without a browser or DOM.
 * Same spec → byte-identical output (on one machine, with the same fonts).
 */
export function renderVegaLite(spec: VegaLiteSpec | object, opts: RenderOptions = {}): Promise<RenderedFigure> {
  const size = opts.size;
  if (size !== undefined && size !== 'column' && size !== 'page') {
    return Promise.reject(new ConfigError('renderVegaLite', `size must be 'column' or 'page', got ${JSON.stringify(size)}`));
  }
  const scale = opts.scale ?? (size === undefined ? 2 : 4);
  if (!(Number.isFinite(scale) && scale > 0 && scale <= 16)) {
    return Promise.reject(new DomainError('renderVegaLite', `scale must be in (0, 16], got ${scale}`));
  }
  if (size !== undefined && scale < 2) {
    return Promise.reject(new DomainError('renderVegaLite', `a paper-size PNG needs scale >= 2 (144 dpi), got ${scale}`));
  }
  const outline = opts.outlineText ?? size !== undefined;
  const run = queue.then(() => renderNow(spec as VegaLiteSpec, scale, size, outline));
  queue = run.catch(() => undefined);
  return run;
}
