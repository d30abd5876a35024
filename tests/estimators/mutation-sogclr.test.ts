/**
 * Tests added from the Stryker run over src/estimators/sogclr.ts (benchmarks/README.md, "Mutation
 * testing"): the estimator's own defaults for sharedU, eps0 and pitfalls. validateEstimatorSpec
 * fills them before makeEstimator is reached, so only a direct sogclrEstimator call exercises them.
 */
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../src/backend/index.ts';
import { gatherRows, type Matrix64 } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import { sogclrEstimator, type SogclrSpec } from '../../src/estimators/sogclr.ts';
import { gaussian } from '../helpers.ts';

const backend = createCpuBackend({ dtype: 'f64' });

/** Three steps over overlapping batches (a mixed seen/unseen batch on the second), γ = 0.5. */
function trace(spec: SogclrSpec): number[] {
  const rng = Rng.fromSeed(21);
  const U = gaussian(rng, 6, 3, 0.8);
  const V = gaussian(rng, 6, 3, 0.8);
  const est = sogclrEstimator(spec);
  let st = est.init(6);
  const out: number[] = [];
  for (const [step, idx] of [[0, 1, 2], [2, 3, 4], [4, 5, 0]].entries()) {
    const index = Int32Array.from(idx);
    const o = est.step({ U: gatherRows(U, index) as Matrix64, V: gatherRows(V, index) as Matrix64, index, epoch: 0, step, backend }, st);
    out.push(o.batchValue, ...o.gradU.data, ...o.gradV.data);
    st = o.state;
  }
  return out;
}

describe('sogclrEstimator defaults (a spec without the optional fields)', () => {
  const base = { kind: 'sogclr', modality: 'bimodal', tau: 0.3, gamma: 0.5 } as const;

  it('no sharedU / eps0 / pitfalls is sharedU false, eps0 0, no pitfalls', () => {
    const minimal = trace(base);
    expect(minimal.every(Number.isFinite)).toBe(true);
    expect(trace({ ...base, sharedU: false, eps0: 0, pitfalls: { sumStorage: false, batchFirstVisit: false } })).toEqual(minimal);
    expect(trace({ ...base, pitfalls: {} })).toEqual(minimal);
    // and each default matters: the other setting changes the trace
    expect(trace({ ...base, sharedU: true })).not.toEqual(minimal);
    expect(trace({ ...base, eps0: 0.5 })).not.toEqual(minimal);
    expect(trace({ ...base, pitfalls: { batchFirstVisit: true } })).not.toEqual(minimal);
  });

  it('with sharedU, an empty pitfalls object is no sum storage', () => {
    const shared = trace({ ...base, sharedU: true });
    expect(trace({ ...base, sharedU: true, pitfalls: {} })).toEqual(shared);
    expect(trace({ ...base, sharedU: true, pitfalls: { sumStorage: false } })).toEqual(shared);
    expect(trace({ ...base, sharedU: true, pitfalls: { sumStorage: true } })).not.toEqual(shared);
  });

  it('init accepts N = 2 and refuses N = 1 and non-integers', () => {
    const est = sogclrEstimator(base);
    expect(est.init(2).n).toBe(2);
    expect(() => est.init(1)).toThrow(/N >= 2/);
    expect(() => est.init(2.5)).toThrow(/N >= 2/);
    expect(est.name).toBe('sogclr');
    expect(est.modality).toBe('bimodal');
  });
});
