import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/core/errors.ts';
import { estimatorBias, fitPowerLaw } from '../../src/analysis/bias.ts';

describe('estimator bias analysis (THEORY 5)', () => {
  // One fixed instance per modality (N = 128, d = 16, τ = 0.1, seeded), R = 1000 draws per size: enough
  // for the plug-in squared bias to stand ≥ 7 standard errors above zero at every size here (7.5 to 18.7),
  // while SogCLR's sits within 1.6 of zero.
  for (const modality of ['bimodal', 'unimodal'] as const) {
    const r = estimatorBias({ modality, n: 128, d: 16, tau: 0.1, batchSizes: [4, 12, 36], draws: 1000, seed: 3 });

    it(`${modality}: the plug-in bias is resolved and decreases in B`, () => {
      for (const x of r.rows) expect(x.plugin.biasSq).toBeGreaterThan(4 * x.plugin.biasSqSE);
      for (let k = 0; k + 1 < r.rows.length; k++) {
        const a = r.rows[k]!.plugin;
        const b = r.rows[k + 1]!.plugin;
        // Decrease by more than 3 combined standard errors (the two sizes use independent draws).
        expect(a.bias - b.bias).toBeGreaterThan(3 * Math.hypot(a.biasSE, b.biasSE));
      }
      expect(r.fit).not.toBeNull();
      expect(r.fit!.slope).toBeLessThan(0);
    });

    it(`${modality}: SogCLR at the exact u has zero bias within its noise (|D̂| ≤ 4 standard errors)`, () => {
      for (const x of r.rows) {
        expect(Math.abs(x.sogclr.biasSq)).toBeLessThanOrEqual(4 * x.sogclr.biasSqSE);
        // The raw distance of the mean is all noise: it matches √(tr Σ / R) to within sampling error.
        expect(x.sogclr.rawBias / x.sogclr.noise).toBeGreaterThan(0.7);
        expect(x.sogclr.rawBias / x.sogclr.noise).toBeLessThan(1.3);
      }
    });

    it(`${modality}: variances are positive and fall with B`, () => {
      for (const x of r.rows) expect(x.plugin.variance).toBeGreaterThan(0);
      for (let k = 0; k + 1 < r.rows.length; k++) expect(r.rows[k + 1]!.plugin.variance).toBeLessThan(r.rows[k]!.plugin.variance);
    });
  }

  it('fitPowerLaw: exact on an exact power law; no standard error from 2 points', () => {
    const f = fitPowerLaw([2, 4, 8, 16], [3 * 2 ** -0.7, 3 * 4 ** -0.7, 3 * 8 ** -0.7, 3 * 16 ** -0.7])!;
    expect(f.slope).toBeCloseTo(-0.7, 12);
    expect(f.slopeSE!).toBeLessThan(1e-12);
    expect(fitPowerLaw([2, 4], [1, 0.5])).toEqual({ slope: -1, slopeSE: null, points: 2 });
    expect(fitPowerLaw([2], [1])).toBeNull();
  });

  it('validates its options', () => {
    const base = { modality: 'bimodal' as const, n: 16, d: 4, tau: 0.1, batchSizes: [4], draws: 10, seed: 0 };
    expect(() => estimatorBias({ ...base, batchSizes: [17] })).toThrow(/exceeds N = 16/);
    expect(() => estimatorBias({ ...base, batchSizes: [1] })).toThrow(DomainError);
    expect(() => estimatorBias({ ...base, batchSizes: [4, 4] })).toThrow(/twice/);
    expect(() => estimatorBias({ ...base, tau: 0 })).toThrow(/tau/);
    expect(() => estimatorBias({ ...base, draws: 3 })).toThrow(/draws/);
    expect(() => estimatorBias({ ...base, n: 1_000_000, d: 64 })).toThrow(/MiB/);
  });
});
