/**
 * CHO claims, part 1 (etf-optimal, closed-forms, prop1, thm4, thm5): each passes at smoke size with
 * a finite margin and a complete Verdict; property tests for the universally quantified ones
 * (the closed forms at random (N, B, τ); no random feasible point below the ETF value).
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { claim as closedForms, type ClosedFormKind, closedFormRow } from '../../proofs-checks/cho/closed-forms.ts';
import {
  claim as etfOptimal, CLOSED_FORM_REL_TOL, drawFeasibleSample, infonceRoundoff, maxRowDeviation, SAMPLE_KINDS,
} from '../../proofs-checks/cho/etf-optimal.ts';
import { CHO_CLAIMS } from '../../proofs-checks/cho/index.ts';
import { claim as prop1 } from '../../proofs-checks/cho/prop1-minibatch-differs.ts';
import { claim as thm4 } from '../../proofs-checks/cho/thm4-all-batches.ts';
import { claim as thm5 } from '../../proofs-checks/cho/thm5-partition.ts';
import { createCpuBackend } from '../../src/backend/cpu/index.ts';
import { runClaims } from '../../src/claims/run.ts';
import { Rng } from '../../src/core/random.ts';
import { infonceLossAndGrad } from '../../src/objectives/index.ts';
import { etfInfonce } from '../../src/optima/closedForms.ts';

const SEED = 20260517;
const PART1 = [etfOptimal, closedForms, prop1, thm4, thm5];

describe('CHO part 1 claims at smoke size', () => {
  it('come first in CHO_CLAIMS, in order', () => {
    expect(CHO_CLAIMS.slice(0, PART1.length).map((c) => c.id)).toEqual(PART1.map((c) => c.id));
  });

  for (const claim of PART1) {
    it(`${claim.id} passes with a finite margin and a complete verdict`, async () => {
      const backend = createCpuBackend({ dtype: 'f64' });
      const [r] = await runClaims([claim], { size: 'smoke', backend });
      expect(r!.error, r!.error).toBeUndefined();
      const v = r!.verdict;
      expect(v.pass, v.summary).toBe(true);
      expect(Number.isFinite(v.margin)).toBe(true);
      expect(v.margin).toBeGreaterThan(0);
      expect(typeof v.marginUnit).toBe('string');
      expect(v.marginUnit.length).toBeGreaterThan(0);
      expect(typeof v.numbers).toBe('object');
      expect(v.summary.length).toBeGreaterThan(0);
      expect(() => JSON.stringify(v.numbers)).not.toThrow();
      for (const f of v.figures ?? []) {
        expect(f.name).toMatch(/^[a-z0-9-]+$/);
        expect(typeof f.spec).toBe('object');
      }
      // No run-time assertion: no test depends on speed (smoke times are reported by `contrastlab check`).
    }, 120_000);
  }

  it('thm5 carries a Gram heat-map', async () => {
    const [r] = await runClaims([thm5], { size: 'smoke', backend: createCpuBackend({ dtype: 'f64' }) });
    expect(r!.verdict.figures?.map((f) => f.name)).toContain('thm5-gram-heatmap');
  }, 30_000);
});

describe('properties', { timeout: 60_000 }, () => {
  // Closed forms at random (N, B, τ) and configuration kind: the library's evaluation at the
  // constructed configuration and the 40-digit BigNumber value agree with the float64 closed form
  // within the derived rounding allowances (decades > 0).
  test.prop(
    [
      // N ≤ 9 keeps the all-batches enumeration at ≤ C(9,4) = 126 batches per case.
      fc.integer({ min: 2, max: 9 }).chain((n) =>
        fc.record({
          n: fc.constant(n),
          // Any batch size 2..N (B = N is the full batch, also a valid row of every form).
          B: fc.integer({ min: 2, max: n }),
          kind: fc.constantFrom<ClosedFormKind>('etf', 'all-batches', 'partition', 'cross-polytope'),
          // Extra dimensions 0..3 above the minimum: d = N−1 (tight) up to N+2.
          extra: fc.integer({ min: 0, max: 3 }),
          // τ log-uniform in [0.01, 10]: 0.01 is the smallest temperature THEORY names; above 10 nothing new happens.
          logTau: fc.double({ min: Math.log(0.01), max: Math.log(10), noNaN: true }),
          seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        }),
      ),
    ],
    { seed: SEED, numRuns: 150 },
  )('closed forms match the evaluation and BigNumber', ({ n, B, kind, extra, logTau, seed }) => {
    const tau = Math.exp(logTau);
    // Shapes the form needs: a partition needs B | N (take the largest divisor ≤ B), the cross-polytope N even (d = N/2).
    let b = B;
    if (kind === 'partition') while (n % b !== 0) b--;
    if (kind === 'partition' && b < 2) b = n;
    if (kind === 'cross-polytope' && n % 2 !== 0) return;
    const d = kind === 'cross-polytope' ? n / 2 : kind === 'partition' ? b - 1 + extra : n - 1 + extra;
    if (d < 1) return;
    const row = closedFormRow(kind, n, kind === 'etf' || kind === 'cross-polytope' ? n : b, d, tau, Rng.fromSeed(seed));
    expect(row.evalError, JSON.stringify(row)).toBeLessThanOrEqual(row.evalTol);
    expect(row.bigRelError, JSON.stringify(row)).toBeLessThanOrEqual(row.bigTol);
  });

  // No feasible point below the ETF value (d ≥ N−1): random and ETF-perturbed unit-row points.
  test.prop(
    [
      fc.record({
        // N ≤ 8 and d ≤ N+2: small enough for hundreds of cases, large enough for non-trivial ETFs.
        n: fc.integer({ min: 2, max: 8 }),
        extra: fc.integer({ min: 0, max: 3 }),
        // τ log-uniform in [0.05, 5]: the comparison is absolute, so small τ only shrinks both sides;
        // below ~0.05 the loss near the ETF falls under the evaluation's float resolution and the test says nothing.
        logTau: fc.double({ min: Math.log(0.05), max: Math.log(5), noNaN: true }),
        kind: fc.constantFrom(...SAMPLE_KINDS),
        // Perturbation scales 1e-4..1 (log-uniform): from the local quadratic regime to far away.
        logSigma: fc.double({ min: Math.log(1e-4), max: 0, noNaN: true }),
        seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      }),
    ],
    { seed: SEED, numRuns: 300 },
  )('no random feasible point has a loss below the ETF closed form', ({ n, extra, logTau, kind, logSigma, seed }) => {
    const d = Math.max(1, n - 1 + extra);
    const tau = Math.exp(logTau);
    const { U, V } = drawFeasibleSample(kind, { n, d }, Math.exp(logSigma), Rng.fromSeed(seed));
    const L = infonceLossAndGrad(U, V, { tau, grad: false }).value;
    const Lstar = etfInfonce(n, tau);
    const allow = infonceRoundoff(n, d, tau, maxRowDeviation(U, V), L) + CLOSED_FORM_REL_TOL * Lstar;
    expect(L - Lstar, `N=${n} d=${d} τ=${tau} ${kind}`).toBeGreaterThanOrEqual(-allow);
  });
});
