/**
 * The named mutants are live (each changes what the library computes, at its site, only while it is
 * switched on), the switch is not part of the public surface, and the kill-matrix runner classifies
 * kills, survivals and unreached sites.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../src/backend/cpu/index.ts';
import { estimatorBias } from '../../src/analysis/bias.ts';
import { runKillMatrix } from '../../src/claims/mutants.ts';
import { MUTANTS, type MutantId, withMutant } from '../../src/core/mutants.ts';
import { Rng } from '../../src/core/random.ts';
import { tangentProject } from '../../src/core/sphere.ts';
import { allBatchesInfonce } from '../../src/optima/closedForms.ts';
import { pluginEps0, robustDual, sogclrEstimator } from '../../src/estimators/index.ts';
import { gclBimodalLossAndGrad } from '../../src/objectives/gcl.ts';
import { infonceLossAndGrad } from '../../src/objectives/infonce.ts';
import { maxLossBatch } from '../../src/samplers/osgd.ts';
import { reshuffleSampler } from '../../src/samplers/random.ts';
import { spectralBatches } from '../../src/samplers/spectral.ts';
import { unitRows } from '../helpers.ts';

const be = createCpuBackend({ dtype: 'f64' });
const rng = () => Rng.fromSeed('mutants-test');
const U = unitRows(rng(), 8, 4);
const V = unitRows(Rng.fromSeed('mutants-test-v'), 8, 4);
const flat = (x: unknown): number[] => JSON.parse(JSON.stringify(x, (_, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : v)));

/** Two SogCLR steps on overlapping batches; returns the second step's gradient. */
function sogclrTwoSteps(spec: Partial<Parameters<typeof sogclrEstimator>[0]>, second: Int32Array = Int32Array.from([0, 1, 4, 5])): number[] {
  const est = sogclrEstimator({ kind: 'sogclr', modality: 'bimodal', tau: 0.5, gamma: 0.5, ...spec } as never);
  let st = est.init(8);
  const take = (idx: Int32Array) => ({ U: { ...U, rows: idx.length, data: Float64Array.from([...idx].flatMap((i) => [...U.data.subarray(i * 4, i * 4 + 4)])) },
    V: { ...V, rows: idx.length, data: Float64Array.from([...idx].flatMap((i) => [...V.data.subarray(i * 4, i * 4 + 4)])) } });
  const first = Int32Array.from([0, 1, 2, 3]);
  st = est.step({ ...take(first), index: first, epoch: 0, step: 0, backend: be } as never, st).state;
  const out = est.step({ ...take(second), index: second, epoch: 0, step: 1, backend: be } as never, st);
  return [...out.gradU.data, ...out.gradV.data];
}

/** For each mutant, a probe of its site: [correct result, result with the mutant on]; they must differ. */
const PROBES: Record<string, () => unknown> = {
  'sogclr-gamma-one': () => sogclrTwoSteps({}),
  'u-sum-storage': () => sogclrTwoSteps({ sharedU: true }),
  'batch-first-visit': () => sogclrTwoSteps({}),
  'lse-no-max-shift': () => {
    try { return infonceLossAndGrad(U, V, { tau: 1e-3, backend: be, grad: false }).value; } catch (e) { return (e as Error).name; }
  },
  'lse-f32-accumulation': () => infonceLossAndGrad(U, V, { tau: 0.1, backend: be, grad: false }).value,
  'column-softmax-dropped': () => infonceLossAndGrad(U, V, { tau: 0.5, backend: be }).gradV,
  'inv-tau-twice': () => infonceLossAndGrad(U, V, { tau: 0.5, backend: be }).gradU,
  'eps0-ignored': () => gclBimodalLossAndGrad(U, V, { tau: 0.5, eps0: 0.5, backend: be }).value,
  'osgd-min-loss': () => maxLossBatch(U, V, [0, 1, 2, 3, 4, 5, 6, 7], 2, 0.5, be).batch,
  'reshuffle-reuses-first-epoch': () => {
    const s = reshuffleSampler(8, 4);
    let st = s.init(8, Rng.fromSeed('init'));
    const orders: number[][] = [];
    for (let step = 0; step < 4; step++) {
      const r = s.next({ U, V, tau: 1, backend: be, rng: Rng.fromSeed(`step-${step}`), step } as never, st);
      for (const b of r.batches) orders.push([...b]);
      st = r.state;
    }
    return orders;
  },
  'spectral-unbalanced': () => {
    const X = unitRows(Rng.fromSeed('spectral'), 24, 3);
    return spectralBatches(X, X, { tau: 0.5, B: 4, rng: Rng.fromSeed('spectral-rng') }).map((b) => [...b].sort((a, c) => a - c));
  },
  'riemannian-projection-dropped': () => tangentProject(U, V),
  'simclr-eps0-clip-count': () => pluginEps0('simclr', 8),
  'all-batches-b-exponent': () => allBatchesInfonce(8, 3, 0.5),
  'bias-without-noise-correction': () => estimatorBias({ modality: 'bimodal', n: 12, d: 3, tau: 0.5, batchSizes: [4], draws: 40, seed: 0 }).rows.map((r) => r.sogclr ?? r),
  'robust-dual-no-log-m': () => robustDual([0.1, -0.3, 0.5], 0.2, 0.1),
};

describe('named mutants', () => {
  it('every mutant has a probe of its site here (a new mutant needs one)', () => {
    const missing = Object.keys(MUTANTS).filter((m) => !(m in PROBES) && !EXTERNAL.has(m));
    expect(missing).toEqual([]);
  });
  for (const [id, probe] of Object.entries(PROBES)) {
    it(`${id} changes the result at its site, and only while it is on`, () => {
      const { result: before, reached } = withMutant(null, probe);
      expect([...reached], `${id}'s site is reached by its probe`).toContain(id);
      const { result: broken } = withMutant(id as MutantId, probe);
      const { result: after } = withMutant(null, probe);
      expect(flat(broken)).not.toEqual(flat(before));
      expect(flat(after)).toEqual(flat(before));
    });
  }
  it('an unknown mutant id is refused', () => {
    expect(() => withMutant('no-such-mutant' as MutantId, () => 0)).toThrow(/unknown mutant/);
  });
  it('the switch is not part of the public surface', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, unknown> };
    expect(Object.keys(pkg.exports).join(' ')).not.toMatch(/mutant|core/);
    for (const entry of ['src/index.ts', 'src/claims.ts', 'src/plot.ts', 'src/gpujs.ts']) {
      expect(readFileSync(entry, 'utf8'), entry).not.toMatch(/withMutant|mutants\.ts/);
    }
  });
});

/** Mutants whose probes live beside their code (the sigmoid and sharded-gradient tests). */
const EXTERNAL = new Set<string>(['sigmoid-bias-sign', 'sigmoid-mean-over-pairs', 'gather-without-grad', 'shard-local-mean', 'sneg-includes-diagonal']);

describe('kill matrix', () => {
  it('classifies a kill, a survival and an unreached site, on worker threads', async () => {
    const claim = { id: 'numerics.blocked-equals-materialised', mutants: ['lse-f32-accumulation'] as MutantId[] };
    const m = await runKillMatrix([claim], { size: 'smoke', mutants: ['lse-f32-accumulation', 'osgd-min-loss', 'eps0-ignored'], workers: 2 });
    expect(m.baselineFailures).toEqual([]);
    const status = Object.fromEntries(m.cells.map((c) => [c.mutant, c.status]));
    expect(status['lse-f32-accumulation']).toBe('killed');
    expect(status['osgd-min-loss']).toBe('not-reached');
    expect(m.killed[claim.id]).toEqual(['lse-f32-accumulation']);
    expect(m.missing).toEqual([]);
    expect(m.mutantsNotKilled).toContain('osgd-min-loss');
  }, 300_000);
});
