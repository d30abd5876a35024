/**
 * Tests added from the Stryker run over src/samplers/osgd.ts (benchmarks/README.md, "Mutation
 * testing"): exact ties (the documented lexicographic rule), the candidate count, an impossible
 * batch size, epoch boundaries and the approximate-OSGD counts at their edges.
 */
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../src/backend/index.ts';
import { binomial } from '../../src/core/combinatorics.ts';
import { DomainError } from '../../src/core/errors.ts';
import { zeros, type Matrix64 } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import {
  approxOsgdKeep, approxOsgdStepsPerEpoch, maxLossBatch, osgdSampler, osgdWithoutReplacementSampler, planApproxOsgd,
} from '../../src/samplers/osgd.ts';
import { unitRows } from '../helpers.ts';

const backend = createCpuBackend({ dtype: 'f64' });

/** N rows all equal to e_1: every batch has the same loss (log B), exactly. */
function identical(n: number, d = 2): Matrix64 {
  const U = zeros(n, d);
  for (let i = 0; i < n; i++) U.data[i * d] = 1;
  return U;
}

const ctx = (U: Matrix64, V: Matrix64, step = 0) => ({ U, V, tau: 0.5, backend, rng: Rng.fromSeed(step), step });

describe('maxLossBatch', () => {
  it('exact ties go to the lexicographically smallest batch, and every candidate is scored', () => {
    const U = identical(6);
    const r = maxLossBatch(U, U, [0, 1, 2, 3, 4, 5], 3, 0.5, backend);
    expect(Array.from(r.batch)).toEqual([0, 1, 2]);
    expect(r.scored).toBe(binomial(6, 3));
    expect(r.loss).toBeCloseTo(Math.log(3), 14);
    const s = maxLossBatch(U, U, [1, 3, 4, 5], 2, 0.5, backend);
    expect(Array.from(s.batch)).toEqual([1, 3]);
    expect(s.scored).toBe(6);
  });

  it('the maximum, not the first or the last, on distinct losses; the returned batch is a copy', () => {
    const rng = Rng.fromSeed(4);
    const U = unitRows(rng, 7, 3);
    const V = unitRows(rng, 7, 3);
    const rows = [0, 1, 2, 3, 4, 5, 6];
    const r = maxLossBatch(U, V, rows, 2, 0.5, backend);
    const all = [];
    for (let a = 0; a < 7; a++) for (let b = a + 1; b < 7; b++) all.push(maxLossBatch(U, V, [a, b], 2, 0.5, backend));
    const best = Math.max(...all.map((x) => x.loss));
    expect(r.loss).toBe(best);
    expect(r.loss).toBeGreaterThan(Math.min(...all.map((x) => x.loss)));
    expect(all.filter((x) => x.loss === best).map((x) => Array.from(x.batch))).toContainEqual(Array.from(r.batch));
    expect(r.scored).toBe(21);
  });

  it('throws when there is no B-subset', () => {
    const U = identical(3);
    expect(() => maxLossBatch(U, U, [0, 1], 3, 0.5, backend)).toThrow(RangeError);
  });
});

describe('osgd epochs', () => {
  it('an epoch is ⌈N/B⌉ steps: epochEnd exactly on the last, then the counter restarts', () => {
    const U = identical(5);
    const s = osgdSampler(5, 2); // ⌈5/2⌉ = 3 steps
    expect(s.stepsPerEpoch(5)).toBe(3);
    expect(s.stepsPerEpoch(4)).toBe(2);
    let st = s.init(5, Rng.fromSeed(0));
    const ends: boolean[] = [];
    const ts: number[] = [];
    for (let t = 0; t < 7; t++) {
      const r = s.next(ctx(U, U, t), st);
      expect(Array.from(r.batches.at(0)!)).toEqual([0, 1]);
      ends.push(r.epochEnd);
      st = r.state;
      ts.push(st.t);
    }
    expect(ends).toEqual([false, false, true, false, false, true, false]);
    expect(ts).toEqual([1, 2, 0, 1, 2, 0, 1]);
    expect(() => s.checkState({ n: 5, t: 2 })).not.toThrow();
    expect(() => s.checkState({ n: 5, t: 3 })).toThrow(DomainError);
    expect(() => s.checkState({ n: 5, t: -1 })).toThrow(DomainError);
  });

  it('without replacement: ties lexicographic among the remaining rows; B | N ends on the last whole batch, B ∤ N wraps to the epoch order', () => {
    const U = identical(6);
    const s = osgdWithoutReplacementSampler(6, 2);
    let st = s.init(6, Rng.fromSeed(0));
    const got: number[][] = [];
    const ends: boolean[] = [];
    for (let t = 0; t < 4; t++) {
      const r = s.next(ctx(U, U, t), st);
      got.push(Array.from(r.batches.at(0)!));
      ends.push(r.epochEnd);
      st = r.state;
    }
    expect(got).toEqual([[0, 1], [2, 3], [4, 5], [0, 1]]);
    expect(ends).toEqual([false, false, true, false]);

    const W = identical(5);
    const w = osgdWithoutReplacementSampler(5, 2);
    let sw = w.init(5, Rng.fromSeed(0));
    const gw: number[][] = [];
    const ew: boolean[] = [];
    for (let t = 0; t < 4; t++) {
      const r = w.next(ctx(W, W, t), sw);
      gw.push(Array.from(r.batches.at(0)!));
      ew.push(r.epochEnd);
      sw = r.state;
    }
    // the last step's batch: the one remaining row (4), then the first row of the epoch order (0)
    expect(gw).toEqual([[0, 1], [2, 3], [4, 0], [0, 1]]);
    expect(ew).toEqual([false, false, true, false]);
    expect(sw.used).toEqual([0, 1]);
    expect(() => w.checkState({ n: 5, used: [0, 1, 2, 3] })).not.toThrow();
    expect(() => w.checkState({ n: 5, used: [0, 1, 2] })).toThrow(DomainError);
    expect(() => s.checkState({ n: 6, used: [0, 1, 2, 3, 4, 5] })).toThrow(DomainError);
  });
});

describe('approximate OSGD counts', () => {
  it('keep ⌈q·m/k⌉ of a group of m', () => {
    expect(approxOsgdKeep(4, 4, 2)).toBe(2);
    expect(approxOsgdKeep(1, 4, 2)).toBe(1);
    expect(approxOsgdKeep(2, 4, 2)).toBe(1);
    expect(approxOsgdKeep(3, 4, 2)).toBe(2);
    expect(approxOsgdKeep(3, 3, 1)).toBe(1);
    expect(approxOsgdKeep(1, 5, 1)).toBe(1);
    expect(approxOsgdKeep(0, 4, 2)).toBe(0);
  });

  it('steps per epoch: full groups times q plus the partial group\'s share', () => {
    expect(approxOsgdStepsPerEpoch(16, 2, 4, 2)).toBe(4); // 8 batches, 2 full groups
    expect(approxOsgdStepsPerEpoch(11, 2, 4, 2)).toBe(3); // 6 batches: 2 + ⌈2·2/4⌉
    expect(approxOsgdStepsPerEpoch(10, 2, 4, 3)).toBe(4); // 5 batches: 3 + ⌈3·1/4⌉ = 3 + 1
    expect(approxOsgdStepsPerEpoch(6, 2, 4, 2)).toBe(2); // 3 batches, no full group: ⌈2·3/4⌉
    expect(approxOsgdStepsPerEpoch(7, 7, 1, 1)).toBe(1);
  });
});

describe('planApproxOsgd ties', () => {
  it('equal scores within a group: the earlier positions are kept, in position order', () => {
    const U = identical(16);
    const plan = planApproxOsgd(U, U, { B: 2, k: 4, q: 2, tau: 0.5, rng: Rng.fromSeed(1), backend });
    expect(new Set(plan.scores).size).toBe(1);
    expect(plan.selected).toEqual([0, 1, 4, 5]);
    const odd = planApproxOsgd(identical(14), identical(14), { B: 2, k: 3, q: 2, tau: 0.5, rng: Rng.fromSeed(2), backend });
    // 7 batches: groups [0,1,2], [3,4,5], [6]: keep 2, 2 and ⌈2·1/3⌉ = 1
    expect(odd.selected).toEqual([0, 1, 3, 4, 6]);
  });
});
