import { describe, expect, it } from 'vitest';
import * as claims from '../src/claims.ts';
import * as gpujs from '../src/gpujs.ts';
import * as lib from '../src/index.ts';
import * as plot from '../src/plot.ts';

describe('the public entry point', () => {
  it('runs the README example', () => {
    const { Rng, normalizeRows, infonceLossAndGrad, gclBimodalLossAndGrad, createCpuBackend, simplexEtf, etfInfonce, solveExact, toNdarray } = lib;
    const rng = Rng.fromSeed(1);
    const U = normalizeRows(rng.fillNormalMatrix(256, 16));
    const V = normalizeRows(rng.fillNormalMatrix(256, 16));
    const backend = createCpuBackend({ dtype: 'f64' });
    const { value, gradU } = infonceLossAndGrad(U, V, { tau: 0.1, backend });
    expect(value).toBeGreaterThan(0);
    expect(gradU!.rows).toBe(256);
    expect(Number.isFinite(gclBimodalLossAndGrad(U, V, { tau: 0.1, eps0: 0, backend, grad: false }).value)).toBe(true);
    const E = simplexEtf(8, 16, { rng });
    expect(Math.abs(infonceLossAndGrad(E, E).value - etfInfonce(8, 1))).toBeLessThan(1e-14);
    const run = solveExact({ n: 8, d: 16, seed: 0, mode: 'reparam' });
    expect(toNdarray(run.U).shape).toEqual([8, 16]);
  });

  it('exposes every capability by name', () => {
    for (const name of [
      'matrix', 'Rng', 'createCpuBackend', 'createReferenceBackend', 'evaluateObjective', 'minibatchLossAndGrad', 'gclUnimodalLossAndGrad',
      'crossPolytope', 'gramDistance', 'etfInfonceBig', 'hungarian', 'minWeightPerfectMatching', 'parseNpy', 'serializeNpy', 'fromNdarray',
      'makeSampler', 'spectralBatches', 'sgd', 'lars', 'adamw', 'train', 'runStudy', 'expandStudy', 'PRESETS',
    ]) expect(typeof (lib as Record<string, unknown>)[name], name).not.toBe('undefined');
    for (const cls of ['ShapeError', 'NonFiniteError', 'DomainError', 'ZeroRowError', 'CapExceededError', 'NpyFormatError', 'ConfigError']) {
      expect(new (lib as unknown as Record<string, new (op: string, m: string) => Error>)[cls]!('op', 'msg')).toBeInstanceOf(lib.ContrastlabError);
    }
  });

  it('keeps the heavy parts at subpath entry points', () => {
    for (const name of ['renderVegaLite', 'heatmap', 'lineChartWithBands', 'writeFigure', 'makeFigures', 'scatter3dChart', 'sweepChart']) {
      expect(typeof (plot as Record<string, unknown>)[name], `contrastlab/plot ${name}`).toBe('function');
      expect((lib as Record<string, unknown>)[name], `contrastlab ${name}`).toBeUndefined();
    }
    expect(typeof gpujs.createGpujsBackend).toBe('function');
    expect((lib as Record<string, unknown>).createGpujsBackend).toBeUndefined();
    expect(claims.CLAIMS.length).toBeGreaterThan(20);
    expect((lib as Record<string, unknown>).CLAIMS).toBeUndefined();
  });
});
