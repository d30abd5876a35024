/**
 * CHO claims, part 2: the balanced-design and low-dimension caveats, the spectral lower bound and
 * OSGD against reshuffled SGD — each at smoke size, plus property tests of the universally
 * quantified statement (the spectral lower bound) and of the helpers the claims rely on.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { claim as balancedDesign, AG23, balancedPairSets, FANO, FANO_COMPLEMENT, pairCounts } from '../../proofs-checks/cho/balanced-design.ts';
import { claim as lowDimension, angularClusters, regularPolygon } from '../../proofs-checks/cho/low-dimension.ts';
import { claim as osgdFaster, GRID_RMS, grid, mannWhitneyLess, rectangle, runToThreshold } from '../../proofs-checks/cho/osgd-faster.ts';
import { claim as osgdTrap } from '../../proofs-checks/cho/osgd-trap.ts';
import { claim as osgdRectangleChoStep } from '../../proofs-checks/cho/osgd-rectangle-cho-step.ts';
import { claim as spectralBound, type InstanceKind, lowerBoundCase, makeInstance, RANDOM_KINDS } from '../../proofs-checks/cho/spectral-lower-bound.ts';
import { createCpuBackend } from '../../src/backend/cpu/index.ts';
import { isFailure, runClaims } from '../../src/claims/run.ts';
import { combinations } from '../../src/core/combinatorics.ts';
import { Rng } from '../../src/core/random.ts';

const backend = createCpuBackend();

describe('CHO part 2 claims at smoke size', () => {
  for (const claim of [balancedDesign, lowDimension, spectralBound, osgdFaster, osgdRectangleChoStep, osgdTrap]) {
    it(`${claim.id} holds with a finite margin`, async () => {
      const [r] = await runClaims([claim], { size: 'smoke', backend });
      expect(r!.error, r!.error).toBeUndefined();
      expect(isFailure(r!), r!.verdict.summary).toBe(false);
      expect(Number.isFinite(r!.verdict.margin), `margin ${r!.verdict.margin}`).toBe(true);
      expect(r!.verdict.margin).toBeGreaterThan(0);
    }, 120_000);
  }
});

describe('spectral lower bound L(U_b, V_b) ≥ Σ_{i<j∈b} W_ij / (2B(B−1)), property tests', () => {
  const shape = fc.record({
    // B ≥ 2 (a batch needs a negative); ≤ 8 keeps W and the batch loss cheap and covers B = 2 (the bound is an identity) and B ≥ 3 (Jensen strict).
    B: fc.integer({ min: 2, max: 8 }),
    // N − B ∈ [0, 16]: the batch may be all rows or a small part of them; W is computed over all N rows.
    extra: fc.integer({ min: 0, max: 16 }),
    // d − max(2, B−1) ∈ [0, 10]: d ≥ B−1 so a B-point ETF fits, d ≥ 2 for non-trivial geometry.
    dExtra: fc.integer({ min: 0, max: 10 }),
    // τ ∈ [0.05, 2]: from sharp softmaxes (logits up to ±20, L near underflow) to soft ones; the allowance scales with 1/τ.
    tau: fc.double({ min: 0.05, max: 2, noNaN: true }),
    // Noise scale of the noisy copies / perturbed ETFs: 1e-4 (near equality) to 1 (unrelated rows).
    logSigma: fc.double({ min: -4, max: 0, noNaN: true }),
    kind: fc.constantFrom<InstanceKind>(...RANDOM_KINDS),
    // Any 32-bit seed for the instance's rows, batch and rotation.
    seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  });

  test.prop([shape], { seed: 20240531, numRuns: 300 })('holds to the rounding allowance on random instances', (s) => {
    const n = s.B + s.extra;
    const d = Math.max(2, s.B - 1) + s.dExtra;
    const inst = makeInstance(s.kind, n, d, s.B, s.tau, 10 ** s.logSigma, Rng.fromSeed(s.seed));
    const c = lowerBoundCase(inst.U, inst.V, s.tau, inst.batch, backend);
    expect(c.slack).toBeGreaterThanOrEqual(-c.allowance);
  });

  test.prop([shape], { seed: 777, numRuns: 150 })('is an equality (to rounding) at a batch ETF', (s) => {
    const n = s.B + s.extra;
    const d = Math.max(2, s.B - 1) + s.dExtra;
    const inst = makeInstance('batch-etf', n, d, s.B, s.tau, 0, Rng.fromSeed(s.seed));
    const c = lowerBoundCase(inst.U, inst.V, s.tau, inst.batch, backend);
    expect(Math.abs(c.slack)).toBeLessThanOrEqual(c.allowance);
  });

  test.prop([shape], { seed: 31337, numRuns: 150 })('is an identity for B = 2 (one negative per anchor)', (s) => {
    const n = 2 + s.extra;
    const d = 2 + s.dExtra;
    const inst = makeInstance(s.kind, n, d, 2, s.tau, 10 ** s.logSigma, Rng.fromSeed(s.seed));
    const c = lowerBoundCase(inst.U, inst.V, s.tau, inst.batch, backend);
    expect(Math.abs(c.slack)).toBeLessThanOrEqual(c.allowance);
  });
});

describe('OSGD criteria', () => {
  it('the grid threshold scales with N (RMS 1/8 per Gram entry; the old threshold 1 at N = 8)', () => {
    expect(GRID_RMS).toBe(1 / 8);
    expect(grid(8, 16).below).toBe(1);
    expect(grid(16, 32).below).toBe(2);
    expect(grid(4, 2).below).toBe(0.5);
  });

  it('the rectangle epoch maximum sees OSGD\'s limit cycle whole: inside 0.5° at lr 0.05, outside (7.38°) at lr 1', () => {
    const osgd = { kind: 'osgd', B: 2 } as const;
    const small = runToThreshold(rectangle(0.05, 400), osgd, 1, backend);
    expect(small.epochs).toBe(209);
    expect(small.final).toBeLessThanOrEqual(0.5);
    const cho = runToThreshold(rectangle(1, 200), osgd, 1, backend);
    expect(cho.epochs).toBe(Infinity);
    expect(cho.final).toBeCloseTo(7.384, 2);
  }, 60_000);
});

describe('exact one-sided Mann–Whitney', () => {
  /** Brute force: the doubled mid-rank sum of every |x|-subset of the pooled sample. */
  function bruteForce(x: number[], y: number[]): number {
    const pooled = [...x, ...y];
    const sorted = [...pooled].sort((a, b) => a - b);
    const rank2 = (v: number) => {
      const first = sorted.indexOf(v);
      const last = sorted.lastIndexOf(v);
      return first + 1 + (last + 1);
    };
    const r = pooled.map(rank2);
    const t = x.reduce((acc, _, i) => acc + r[i]!, 0);
    let below = 0;
    let total = 0;
    for (const c of combinations(pooled.length, x.length)) {
      let s = 0;
      for (const i of c) s += r[i]!;
      total++;
      if (s <= t) below++;
    }
    return below / total;
  }

  it('gives 1/C(n+m, n) when every x is below every y, and matches a hand case with ties and censoring', () => {
    expect(mannWhitneyLess([1, 2, 3], [4, 5, 6]).p).toBeCloseTo(1 / 20, 15);
    expect(mannWhitneyLess([1, 2, 3], [4, 5, 6]).U).toBe(9);
    const x = [1, 2, 2, Infinity];
    const y = [2, 3, Infinity, Infinity, 5];
    expect(mannWhitneyLess(x, y).p).toBeCloseTo(bruteForce(x, y), 14);
  });

  // Samples of 1–6 values from a 6-value alphabet (0–4 and +∞ as the censored value): many ties,
  // every split enumerable (C(12, 6) = 924 at most).
  const sample = fc.array(fc.constantFrom(0, 1, 2, 3, 4, Infinity), { minLength: 1, maxLength: 6 });
  test.prop([sample, sample], { seed: 4711, numRuns: 200 })('equals brute-force enumeration of the permutation null', (x, y) => {
    expect(mannWhitneyLess(x, y).p).toBeCloseTo(bruteForce(x, y), 12);
  });
});

describe('designs and helpers', () => {
  it('the Fano plane, its complement and AG(2,3) are balanced and strict', () => {
    expect(pairCounts(7, FANO)).toEqual({ min: 1, max: 1 });
    expect(pairCounts(7, FANO_COMPLEMENT)).toEqual({ min: 2, max: 2 });
    expect(pairCounts(9, AG23)).toEqual({ min: 1, max: 1 });
    expect(FANO.length).toBeLessThan(35); // C(7,3)
    expect(AG23.length).toBeLessThan(84); // C(9,3)
  });

  it('for B = 2 only the full set of pairs is balanced', () => {
    expect(balancedPairSets(4)).toEqual({ sets: 63, balanced: 1, strictBalanced: 0 });
  });

  it('angularClusters groups points across the wrap-around', () => {
    const P = regularPolygon(4);
    expect(angularClusters(P, 2)).toEqual([1, 1, 1, 1]);
    const Q = regularPolygon(8);
    // merge 7 into 0 (across the ±π cut at 0°) and 3 into 4
    Q.data.set([Math.cos(-0.001), Math.sin(-0.001)], 14);
    Q.data.set([Math.cos(Math.PI - 0.001), Math.sin(Math.PI - 0.001)], 6);
    expect(angularClusters(Q, 2)).toEqual([2, 2, 1, 1, 1, 1]);
  });
});
