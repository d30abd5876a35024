/**
 * Figures rendered in Node without a browser: chart builders (pure functions → Vega-Lite specs),
 * `renderVegaLite` (→ SVG text + PNG bytes) and `writeFigure` (→ `name.svg` + `name.png`, atomically).
 */
import { join } from 'node:path';
import { ConfigError } from '../core/errors.ts';
import { assertCanWrite, StagedDir, writeFileAtomic } from '../io/atomic.ts';
import { renderVegaLite, type RenderOptions, type RenderedFigure, type VegaLiteSpec } from './render.ts';

export {
  renderVegaLite, plotFonts, PLOT_FONT_FAMILY,
  type RenderOptions, type RenderedFigure, type VegaLiteSpec, type PlotFonts,
} from './render.ts';
export {
  lineChartWithBands, heatmap, scatterChart, barChart, histogram, panelGrid, prepareNumericFields, logTickValues, PLOT_CONFIG, SCHEMA_URL,
  FIGURE_WIDTH_PX, PAPER_CONFIG, distinctValues, textWidthEstimate, wrapText,
  type FigureSize, type Row, type AxisScale, type AxisField, type ChartCommon, type PreparedRows,
  type LineChartWithBandsOptions, type HeatmapOptions, type ScatterChartOptions, type BarChartOptions, type HistogramOptions, type PanelGridOptions,
} from './charts.ts';

export interface WriteFigureOptions extends RenderOptions {
  /** Replace existing `name.svg` / `name.png` in a plain folder (a StagedDir always replaces inside its staging folder). */
  readonly overwrite?: boolean;
}

export interface WrittenFigure extends RenderedFigure {
  /** Where the files went (inside the staging folder for a StagedDir, until it is committed). */
  readonly svgPath: string;
  readonly pngPath: string;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Renders `spec` and writes `name.svg` and `name.png` into `target`: a `StagedDir` (the results
 * folder being assembled) or the path of an existing folder. Each file is written atomically
 * (temporary sibling + fsync + rename); both are rendered before either is written.
 *
 * @example
 *   const out = new StagedDir('results/run1');
 *   await writeFigure(out, 'gram-distance', lineChartWithBands({...}));
 *   out.commit();
 */
export async function writeFigure(target: StagedDir | string, name: string, spec: VegaLiteSpec, opts: WriteFigureOptions = {}): Promise<WrittenFigure> {
  const op = 'writeFigure';
  if (typeof name !== 'string' || !NAME_RE.test(name) || name.includes('..')) {
    throw new ConfigError(op, `figure name must be letters, digits, '.', '_' or '-' (no folders), got ${JSON.stringify(name)}`);
  }
  const fig = await renderVegaLite(spec, opts);
  if (target instanceof StagedDir) {
    target.write(`${name}.svg`, fig.svg);
    target.write(`${name}.png`, fig.png);
    return { ...fig, svgPath: target.path(`${name}.svg`), pngPath: target.path(`${name}.png`) };
  }
  if (typeof target !== 'string') throw new ConfigError(op, 'target must be a StagedDir or a folder path');
  const svgPath = join(target, `${name}.svg`);
  const pngPath = join(target, `${name}.png`);
  const overwrite = opts.overwrite ?? false;
  assertCanWrite(op, svgPath, overwrite); // both checked before either is written
  assertCanWrite(op, pngPath, overwrite);
  writeFileAtomic(svgPath, fig.svg, { overwrite, op });
  writeFileAtomic(pngPath, fig.png, { overwrite, op });
  return { ...fig, svgPath, pngPath };
}
