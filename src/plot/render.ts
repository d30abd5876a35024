/**
 * Figures without a browser: Vega-Lite spec → (vega-lite compile) → Vega View with renderer
 * 'none' → `view.toSVG()` → PNG through resvg (`@resvg/resvg-js`, a Rust SVG renderer).
 *
 * Determinism: the same spec gives byte-identical SVG and PNG on one machine. Vega numbers its
 * clip paths and gradients with module-level counters, so every render resets them and renders run
 * one at a time (a promise queue); text widths come from Vega's estimate (0.8·fontSize per
 * character), never from a `canvas` package that might happen to be installed. PNG bytes depend on
 * the font files found (see `plotFonts`).
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
  /** PNG pixels per SVG unit (default 2: a 400-unit-wide chart becomes an 800-pixel PNG). */
  readonly scale?: number;
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

interface VegaTextMetrics { canvas(use: boolean): void }

async function renderNow(spec: VegaLiteSpec, scale: number): Promise<RenderedFigure> {
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
  (vega as unknown as { textMetrics?: VegaTextMetrics }).textMetrics?.canvas(false);
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none', logger });
  try {
    vega.resetSVGDefIds();
    const svg = await view.toSVG();
    const rendered = new Resvg(svg, { fitTo: { mode: 'zoom', value: scale }, font: resvgFontOptions(plotFonts()) }).render();
    const png = new Uint8Array(rendered.asPng());
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
  const scale = opts.scale ?? 2;
  if (!(Number.isFinite(scale) && scale > 0 && scale <= 16)) {
    return Promise.reject(new DomainError('renderVegaLite', `scale must be in (0, 16], got ${scale}`));
  }
  const run = queue.then(() => renderNow(spec as VegaLiteSpec, scale));
  queue = run.catch(() => undefined);
  return run;
}
