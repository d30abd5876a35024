/**
 * contrastlab/plot: figures. Chart builders (pure functions returning Vega-Lite specs), rendering
 * to SVG and PNG in Node (vega + resvg, no browser), and the figures of a study's results folder.
 */
export * from './plot/index.ts';
export { scatter3dChart, projectPoint, type Scatter3dOptions, type ProjectedPoint } from './plot/scatter3d.ts';
export { sweepChart, biasCurveChart } from './analysis/curves.ts';
export { makeFigures } from './experiments/figures.ts';
