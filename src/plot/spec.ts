/**
 * What a chart is, without the renderer: the chart builders (charts.ts, scatter3d.ts) return these
 * specs and import only this module, so building a figure's spec loads neither vega nor resvg.
 */
import type { TopLevelSpec } from 'vega-lite';

/** A Vega-Lite specification (the builders in charts.ts return complete top-level specs). */
export type VegaLiteSpec = TopLevelSpec;

/** The font family the chart builders ask for (first choice; `sans-serif` after it). */
export const PLOT_FONT_FAMILY = 'DejaVu Sans';
